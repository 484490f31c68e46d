"""Turns every exception into a JSON error answer, never a stack trace."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.errors import HooklineError, RejectedRequest
from hookline.trigger.responses import error_response

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def hookline_error(request: Request, exc: Exception) -> Response:
    """Answer a HooklineError with its own status, code and headers."""
    assert isinstance(exc, HooklineError)
    if exc.status >= 500:
        log.warning("%s %s answered %s: %s", request.method, request.url.path, exc.status, exc.message)
    else:
        log.info("%s %s rejected %s (%s)", request.method, request.url.path, exc.status, exc.code)
    return error_response(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    """Answer Starlette's own HTTP errors (unknown path, wrong method) in hookline's shape."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    error = RejectedRequest(exc.status_code, code, str(exc.detail), headers=exc.headers)
    return error_response(error)


class CatchAll:
    """ASGI middleware: an unexpected exception is logged with its trace and answered with a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; if it raises before answering, answer for it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if started:
                raise
            error = HooklineError("Something went wrong inside hookline; the error was logged.")
            await error_response(error)(scope, receive, send)
