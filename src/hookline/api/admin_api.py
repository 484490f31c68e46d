"""The admin REST API: a FastAPI app mounted at `/api`, guarded by the admin token."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from fastapi import FastAPI, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

import hookline
from hookline.answers import error_answer
from hookline.api.auth import check_bearer
from hookline.api.errors import CatchAll, hookline_error, http_error, invalid_request
from hookline.api.reference import reference_page
from hookline.api.routes import capture, catalog, executions, nodes, parse, signing, workflows
from hookline.errors import HooklineError
from hookline.runtime import Runtime

PUBLIC_PATHS = frozenset({"/openapi.json", "/reference"})
"""Paths under /api that need no token: the API's own description."""

DESCRIPTION = """Manage hookline over HTTP: workflows and their versions, nodes, executions, and the
parse helpers of the trigger configuration. Every endpoint needs the admin token
(`Authorization: Bearer <token>`; `HOOKLINE_ADMIN_TOKEN`, or the one saved in the data folder).
Ids are strings. Every error answers `{"error": {"code", "message", "details"}}`.
Outside `/api`: `GET /healthz`, `GET /readyz` and `GET /metrics` (Prometheus text)."""

# Declared on every operation so the OpenAPI document says how to authenticate; TokenGate enforces it.
_bearer = HTTPBearer(auto_error=False, description="The admin token.")


def create_admin_api(runtime: Callable[[], Runtime], token: Callable[[], str]) -> FastAPI:
    """The admin API; `runtime` and `token` give the server's, once it has started."""
    api = FastAPI(
        title="hookline admin API",
        version=hookline.__version__,
        description=DESCRIPTION,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; /reference needs none
        redoc_url=None,
        middleware=[Middleware(CatchAll), Middleware(TokenGate, token=token)],
        exception_handlers={
            RequestValidationError: invalid_request,
            HooklineError: hookline_error,
            HTTPException: _http_error,
        },
    )
    api.state.runtime = runtime
    for module in (workflows, capture, signing, nodes, executions, parse, catalog):
        api.include_router(module.router, dependencies=[Security(_bearer)])
    api.add_route("/reference", reference_page, methods=["GET"], include_in_schema=False)
    return api


async def _http_error(request: Request, exc: Exception) -> Response:
    """`http_error`, with a 405's `Allow` naming every method of the path (a route knows only its own)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        assert isinstance(request.app, FastAPI)
        allowed = _documented_methods(request.app, _route_path(request.scope))
        if allowed:
            exc = HTTPException(405, exc.detail, headers={"Allow": ", ".join(sorted(allowed))})
    return await http_error(request, exc)


def _documented_methods(api: FastAPI, path: str) -> set[str]:
    """The methods the OpenAPI document lists for `path`; a literal path wins over templates."""
    paths: dict[str, dict[str, object]] = api.openapi()["paths"]
    if path in paths:
        return {method.upper() for method in paths[path]}
    return {
        method.upper()
        for template, item in paths.items()
        if _pattern(template).fullmatch(path)
        for method in item
    }


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    """A path template such as `/workflows/{workflow_id}` as a regular expression."""
    return re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)))


class TokenGate:
    """ASGI middleware: a request without the admin token is refused before its body is read."""

    def __init__(self, app: ASGIApp, token: Callable[[], str]) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 unless the path is public or the bearer token is right."""
        if scope["type"] == "http" and _route_path(scope) not in PUBLIC_PATHS:
            authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            try:
                check_bearer(authorization.decode("latin-1"), self.token())
            except HooklineError as error:
                await error_answer(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path below the mount point (`/api`)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
