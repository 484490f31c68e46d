"""The ASGI application factory: `create_app(settings)`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount

from hookline.api.admin_api import create_admin_api
from hookline.api.auth import TOKEN_FILE, admin_token
from hookline.api.errors import CatchAll, hookline_error, http_error
from hookline.api.health import health_routes
from hookline.api.http_protocol import METRICS_STATE
from hookline.api.webhook import WebhookEndpoint, WebhookFirst
from hookline.errors import HooklineError
from hookline.runtime import Runtime
from hookline.settings import Settings
from hookline.trigger.access import TrustedProxies
from hookline.ui import ui_mount

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Starlette:
    """The hookline server as an ASGI app; it opens its store when the app starts.

    Webhook calls are answered by `WebhookFirst`, before Starlette's middleware, router and admin API;
    with `settings.webhook_port`, only on that port (the server listens on both, see `hookline serve`).
    """
    settings = settings or Settings.from_env()
    started = _Started()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        started.token = _token(settings)
        runtime = await Runtime.open(settings)
        started.runtime = app.state.runtime = runtime
        started.webhook = WebhookEndpoint(
            runtime.flows,
            runtime.dispatcher,
            runtime.metrics,
            body_limit=settings.body_limit,
            json_depth_limit=settings.json_depth_limit,
            query_parameter_limit=settings.query_parameter_limit,
            rate_limiter=runtime.rate_limiter,
            trusted_proxies=TrustedProxies.of(settings.trusted_proxies),
            public_url=settings.webhook_url if settings.public_url else None,
        )
        try:
            # The lifespan state is what uvicorn hands each connection's protocol: it counts its refusals.
            yield {METRICS_STATE: runtime.metrics}
        finally:
            await runtime.close()

    def webhook() -> WebhookEndpoint:
        return started.webhook

    def get_runtime() -> Runtime:
        return started.runtime

    def get_token() -> str:
        return started.token

    return WebhookFirst(
        webhook=webhook,
        webhook_port=settings.webhook_port,
        routes=[
            Mount("/api", app=create_admin_api(get_runtime, get_token)),
            *health_routes(get_runtime, get_token),
            ui_mount(),  # last: it answers every path the others did not take
        ],
        middleware=[Middleware(CatchAll)],
        exception_handlers={HooklineError: hookline_error, HTTPException: http_error},
        lifespan=lifespan,
    )


class _Started:
    """What the lifespan builds, for the routes to reach once the app has started."""

    runtime: Runtime
    token: str
    webhook: WebhookEndpoint


def _token(settings: Settings) -> str:
    """The admin token, read (or generated) once at start-up; never logged."""
    token, generated = admin_token(settings)
    if generated:
        log.warning("generated an admin token in %s", Path(settings.data_dir) / TOKEN_FILE)
    return token
