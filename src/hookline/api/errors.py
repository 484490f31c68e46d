"""Turns every exception into a JSON error answer, never a stack trace."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.answers import error_answer
from hookline.errors import HooklineError, Problem, RejectedRequest

log = logging.getLogger(__name__)

UNEXPECTED = HooklineError("Something went wrong inside hookline; the error was logged.")
"""The answer to an exception nobody expected (its trace goes to the log, never to the caller)."""

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


class InvalidRequest(HooklineError):
    """An admin API request whose body, query or path does not have the documented shape."""

    status = 422
    code = "invalid_request"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        summary = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"The request is not valid: {summary}{more}")

    def to_json(self) -> dict[str, object]:
        """The error with one entry per problem."""
        details = [{"where": p.where, "message": p.message} for p in self.problems]
        return {"error": {"code": self.code, "message": self.message, "details": details}}


class ThrottledLog:
    """Logs a line at most once per `every` seconds per kind, saying how many were left out meanwhile.

    During a database outage every request answers 503: one line per request would bury the log.
    """

    def __init__(self, every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Log `message % args` unless a warning of this kind was logged less than `every` seconds ago."""
        self.log(logging.WARNING, kind, message, *args)

    def log(self, level: int, kind: str, message: str, *args: object) -> None:
        """Log `message % args` at `level` unless a line of this kind was logged less than `every` s ago."""
        now = self._clock()
        if now - self._last.get(kind, -self._every) < self._every:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        skipped = self._skipped.pop(kind, 0)
        self._last[kind] = now
        if skipped:
            message += f" (and {skipped} more like it in the last {self._every:g} s)"
        log.log(level, message, *args)


_server_errors = ThrottledLog()


async def hookline_error(request: Request, exc: Exception) -> Response:
    """Answer a HooklineError with its own status, code and headers."""
    assert isinstance(exc, HooklineError)
    log_error_answer(request.method, request.url.path, exc)
    return error_answer(exc)


def log_error_answer(method: str, path: str, error: HooklineError) -> None:
    """Log an error answer: server-side ones as (throttled) warnings, refusals of bad requests as info."""
    if error.status >= 500:
        _server_errors.warning(
            f"{error.status} {error.code}", "%s %s answered %s: %s", method, path, error.status, error.message
        )
    else:
        log.info("%s %s rejected %s (%s)", method, path, error.status, error.code)


async def http_error(request: Request, exc: Exception) -> Response:
    """Answer Starlette's own HTTP errors (unknown path, wrong method) in hookline's shape."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    error = RejectedRequest(exc.status_code, code, str(exc.detail), headers=exc.headers)
    return error_answer(error)


async def invalid_request(request: Request, exc: Exception) -> Response:
    """Answer FastAPI's validation errors: 400 for a body that is not JSON, else 422 with each problem."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if broken is not None:
        reason = broken.get("ctx", {}).get("error", "it does not parse")
        message = f"The request body is not valid JSON: {reason}."
        return await hookline_error(request, RejectedRequest(400, "malformed_json", message))
    return await hookline_error(request, InvalidRequest([_problem(e) for e in errors]))


def _problem(error: Any) -> Problem:
    """One pydantic error as a Problem placed at `body.a.b[0]`, `query.limit`, …"""
    where = ""
    for part in error.get("loc", ()):
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return Problem(where, message)


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
            await error_answer(UNEXPECTED)(scope, receive, send)
