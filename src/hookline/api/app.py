"""The ASGI application factory: `create_app(settings)`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.api.errors import CatchAll, hookline_error, http_error
from hookline.api.runtime import Runtime
from hookline.api.webhook import WebhookEndpoint
from hookline.errors import HooklineError
from hookline.settings import Settings

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(settings: Settings | None = None) -> Starlette:
    """The hookline server as an ASGI app; it opens its store when the app starts."""
    settings = settings or Settings.from_env()
    holder: dict[str, WebhookEndpoint] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await Runtime.open(settings)
        app.state.runtime = runtime
        holder["webhook"] = WebhookEndpoint(
            runtime.flows, runtime.dispatcher, runtime.metrics, body_limit=settings.body_limit
        )
        try:
            yield
        finally:
            await runtime.close()

    async def webhook(request: Request) -> Response:
        return await holder["webhook"](request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/api/webhook:trigger/{key}", webhook, methods=ALL_METHODS),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        middleware=[Middleware(CatchAll)],
        exception_handlers={HooklineError: hookline_error, HTTPException: http_error},
        lifespan=lifespan,
    )
