"""`/healthz` (the process answers), `/readyz` (storage reachable and migrated) and `/metrics`."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.api.auth import check_bearer
from hookline.errors import RejectedRequest
from hookline.metrics import CONTENT_TYPE
from hookline.runtime import Runtime
from hookline.store.database import is_unavailable, unavailable
from hookline.store.migrate import current_revision, head_revision
from hookline.store.sql_store import SqlStore


def health_routes(runtime: Callable[[], Runtime], token: Callable[[], str]) -> list[Route]:
    """The routes of the process's health and metrics, for the top-level app."""

    async def healthz(request: Request) -> Response:
        """The process is alive and answering."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready for traffic: the database answers and has every migration."""
        await check_ready(runtime())
        return JSONResponse({"status": "ready"})

    async def metrics(request: Request) -> Response:
        """The Prometheus page; it needs the admin token unless metrics are public."""
        current = runtime()
        if not current.settings.metrics_public:
            check_bearer(request.headers.get("authorization"), token())
        return Response(await render_metrics(current), media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


async def check_ready(runtime: Runtime) -> None:
    """Raise a 503 error unless the database answers and has every migration this version ships."""
    await runtime.store.ping()
    store = runtime.store
    if not isinstance(store, SqlStore):
        return  # another store (a test double) has no migrations to check
    try:
        revision = await current_revision(store.engine)
    except Exception as error:
        if is_unavailable(error):
            raise unavailable(error) from error
        raise
    head = head_revision()
    if revision != head:
        message = f"The database is at migration {revision or 'none'}, not {head}: run `hookline migrate`."
        raise RejectedRequest(503, "migrations_pending", message)


async def render_metrics(runtime: Runtime) -> bytes:
    """The metrics in Prometheus text, with the gauges read from the database just now; under
    `serve --processes N`, every process's counts summed (`metrics_share`)."""
    counts = await runtime.store.count_executions_by_status()
    runtime.metrics.set_stored(counts, runtime.workers.running)
    shared = runtime.shared_metrics
    # No await from here on: the counts written for the others are the ones this scrape shows.
    return runtime.metrics.render(shared.others() if shared is not None else ())
