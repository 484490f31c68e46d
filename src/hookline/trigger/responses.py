"""The answers the webhook trigger gives: configured, default, and hookline's own errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from hookline.engine.templates import Renderer, compile_value
from hookline.errors import HooklineError
from hookline.models import Answer, ExecutionStatus
from hookline.nodes.response import header_text
from hookline.trigger.dedupe import DUPLICATE_HEADER
from hookline.types import JsonValue

EXECUTION_HEADER = "X-Hookline-Execution"


@dataclass(frozen=True, slots=True)
class AnswerTemplate:
    """The asynchronous answer of a trigger config, templated over `$context`; default `200 ok`.

    Compiled once per workflow version (`AnswerTemplate.of`), rendered for every request.
    """

    status: Any
    headers: tuple[tuple[str, Renderer], ...] = ()
    body: Renderer | None = None
    """None for the default text `ok`."""

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> AnswerTemplate:
        """The template of a trigger config's `response` setting (the default without one)."""
        setting = config.get("response")
        if not isinstance(setting, Mapping):
            return DEFAULT_ASYNC_TEMPLATE
        headers = tuple(
            (str(h.get("name")), compile_value(h.get("value"))) for h in setting.get("headers") or ()
        )
        body = compile_value(setting["body"]) if "body" in setting else None
        return cls(setting.get("statusCode", 200), headers, body)

    def render(self, scope: Mapping[str, Any]) -> Answer:
        """The answer for one request; a header value holding a line break fails (`header_text`)."""
        headers = tuple((name, header_text(name, value(scope))) for name, value in self.headers)
        return Answer(int(self.status), headers, "ok" if self.body is None else self.body(scope))


DEFAULT_ASYNC_TEMPLATE = AnswerTemplate(200)


def outcome_answer(status: ExecutionStatus, execution_id: int) -> Answer:
    """The synchronous answer when no Response node ran: 200 when resolved, else 500."""
    if status is ExecutionStatus.RESOLVED:
        return Answer(200, (), {"status": status.value, "execution": str(execution_id)})
    message = f"The workflow ended with status {status.value}."
    body = {
        "error": {"code": "execution_failed", "message": message},
        "status": status.value,
        "execution": str(execution_id),
    }
    return Answer(500, (), body)


def timeout_answer(timeout_ms: int, execution_id: int) -> Answer:
    """The synchronous answer when the workflow ran past its timeout."""
    message = f"The workflow did not finish within {timeout_ms} ms."
    body = {
        "error": {"code": "timeout", "message": message},
        "status": "aborted",
        "execution": str(execution_id),
    }
    return Answer(408, (), body)


Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
"""An answer ready for ASGI: status, raw headers (lower-case names) and body."""


def answer_reply(answer: Answer, execution_id: int | None = None, *, duplicate: bool = False) -> Reply:
    """The reply for an answer: text bodies as text, everything else as JSON.

    `duplicate` marks the repeated answer of an idempotency key's holder (`DUPLICATE_HEADER`).
    """
    headers = dict(answer.headers)
    if execution_id is not None:
        headers[EXECUTION_HEADER] = str(execution_id)
    if duplicate:
        headers[DUPLICATE_HEADER] = "true"
    content, media_type = _encode(answer.body)
    return _reply(answer.status_code, headers, content, media_type)


def error_reply(error: HooklineError) -> Reply:
    """hookline's own JSON error answer for an error, with the headers it carries."""
    return _reply(error.status, dict(error.headers), orjson.dumps(error.to_json()), "application/json")


def _reply(status: int, headers: dict[str, str], body: bytes, media_type: str) -> Reply:
    """The reply with raw headers made as Starlette's `Response` makes them.

    Names are lower-cased; the length and the type follow unless the headers give them (no
    length on a 1xx, 204 or 304 answer).
    """
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    names = {name for name, _ in raw}
    if b"content-length" not in names and not (status < 200 or status in (204, 304)):
        raw.append((b"content-length", str(len(body)).encode()))
    if b"content-type" not in names:
        raw.append((b"content-type", media_type.encode("latin-1")))
    return status, raw, body


def error_response(error: HooklineError, execution_id: int | None = None) -> Response:
    """hookline's own JSON error answer for an error, with the headers it carries."""
    headers = dict(error.headers)
    if execution_id is not None:
        headers[EXECUTION_HEADER] = str(execution_id)
    return Response(orjson.dumps(error.to_json()), error.status, headers, "application/json")


def _encode(body: JsonValue) -> tuple[bytes, str]:
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    if body is None:
        return b"", "text/plain; charset=utf-8"
    return orjson.dumps(body), "application/json"
