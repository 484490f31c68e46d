"""The ASGI app of `hookline worker`: runs asynchronous executions, answers only health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from hookline.api.auth import admin_token
from hookline.api.errors import CatchAll, hookline_error, http_error
from hookline.api.health import health_routes
from hookline.errors import ConfigError, HooklineError
from hookline.runtime import Runtime
from hookline.settings import Settings
from hookline.store.database import is_sqlite_url


def create_worker_app(settings: Settings) -> Starlette:
    """A worker process: its runtime claims and runs queued executions; HTTP is health only.

    Workers share the database with `hookline serve` processes, which only PostgreSQL
    allows: an SQLite file has one writer, the server that runs its own workers.
    """
    if is_sqlite_url(settings.effective_database_url):
        raise ConfigError(
            "hookline worker needs PostgreSQL (HOOKLINE_DATABASE_URL); "
            "with SQLite, `hookline serve` runs the workers itself."
        )
    if settings.workers < 1:
        raise ConfigError("hookline worker needs at least one worker (--workers 1 or more).")
    token = admin_token(settings)[0]
    holder: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        holder["runtime"] = app.state.runtime = await Runtime.open(settings)
        try:
            yield
        finally:
            await holder["runtime"].close()

    return Starlette(
        routes=health_routes(lambda: holder["runtime"], lambda: token),
        middleware=[Middleware(CatchAll)],
        exception_handlers={HooklineError: hookline_error, HTTPException: http_error},
        lifespan=lifespan,
    )
