"""The answers the webhook trigger gives: configured, default, and hookline's own errors.

hookline calls what it sends back over HTTP an *answer*, everywhere: `Answer` (models.py) is a
workflow's, `AnswerTemplate` the trigger's configured one, `EncodedAnswer` either made ready for
ASGI (`encode_answer`, `encode_error`), `error_answer` an error's as a Starlette response. The word
*response* is kept for what users configure (`config.response`, the `response` node) and for the
answers of other servers (the `request` node).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from hookline.errors import HooklineError, RejectedRequest
from hookline.expressions.templates import Renderer, compile_value
from hookline.header_fields import SECURITY_HEADERS, Unsendable, encode_headers
from hookline.models import Answer, ExecutionStatus, WireForm
from hookline.types import JsonValue

EXECUTION_HEADER = "X-Hookline-Execution"

_EXECUTION = EXECUTION_HEADER.lower().encode()
DUPLICATE_HEADER = "X-Hookline-Duplicate"
"""Marks the answer of a duplicate, which repeats its original's answer (value `true`)."""
_DUPLICATE = (DUPLICATE_HEADER.lower().encode(), b"true")
_TEXT = b"text/plain; charset=utf-8"
_JSON = b"application/json"
_NO_CONTENT = frozenset({204, 304})
"""Statuses that HTTP sends without a body (nor a length)."""


@dataclass(frozen=True, slots=True)
class AnswerTemplate:
    """The asynchronous answer of a trigger config, templated over `$context`; default `200 ok`.

    Compiled once per workflow version (`AnswerTemplate.of`), rendered for every request.
    """

    status: Any
    """The config's `statusCode`: checked when the workflow is saved, and again by `wire_form`."""
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
            (_name(h.get("name")), compile_value(h.get("value"))) for h in setting.get("headers") or ()
        )
        body = compile_value(setting["body"]) if "body" in setting else None
        return cls(setting.get("statusCode", 200), headers, body)

    def render(self, scope: Mapping[str, Any]) -> Answer:
        """The answer for one request, encoded for the wire; `Unsendable` when HTTP cannot carry it."""
        if self is DEFAULT_ASYNC_TEMPLATE:
            return _DEFAULT_ANSWER
        headers = ((name, value(scope)) for name, value in self.headers)
        return sendable(self.status, headers, "ok" if self.body is None else self.body(scope))


def _name(name: Any) -> str:
    """A configured header name; none (or not text) is "", which `wire_form` refuses."""
    return name if isinstance(name, str) else ""


def sendable(status: Any, headers: Iterable[tuple[str, JsonValue]], body: JsonValue) -> Answer:
    """An answer with its wire form (`Answer.wire`), to be made before anything is committed.

    Raises `Unsendable` when HTTP cannot carry it. A 204 or 304 has no body, so none is recorded.
    """
    texts, wire = wire_form(status, headers, body)
    return Answer(status, texts, None if status in _NO_CONTENT else body, wire)


def wire_form(
    status: Any, headers: Iterable[tuple[str, JsonValue]], body: JsonValue
) -> tuple[tuple[tuple[str, str], ...], WireForm]:
    """The headers as recorded, and the answer as sent; `Unsendable` when HTTP cannot carry it.

    The status is checked again (a workflow stored before it was checked on save may hold
    anything). Headers go through `encode_headers`. A text body is sent as UTF-8 text, any other
    as JSON, with its length and its type (unless a header gives the type).
    """
    if type(status) is not int or not 200 <= status <= 599:
        raise Unsendable(f"the status code {status!r} is not an integer between 200 and 599")
    texts, raw = encode_headers(headers)
    if status in _NO_CONTENT:
        return texts, WireForm(tuple(raw), b"")
    content, media_type = _encode(body)
    if not any(name == b"content-type" for name, _ in raw):
        raw.append((b"content-type", media_type))
    raw.append((b"content-length", str(len(content)).encode()))
    return texts, WireForm(tuple(raw), content)


def _encode(body: JsonValue) -> tuple[bytes, bytes]:
    """A body's bytes and media type: text as UTF-8 text, null as nothing, anything else as JSON."""
    if isinstance(body, str):
        return body.encode(), _TEXT
    if body is None:
        return b"", _TEXT
    try:
        return orjson.dumps(body), _JSON
    except TypeError as error:  # orjson.JSONEncodeError: an integer beyond 64 bits, say
        raise Unsendable(f"the body cannot be written as JSON: {error}") from None


DEFAULT_ASYNC_TEMPLATE = AnswerTemplate(200)
_DEFAULT_ANSWER = sendable(200, (), "ok")


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


EncodedAnswer = tuple[int, list[tuple[bytes, bytes]], bytes]
"""An answer ready for ASGI: status, raw headers (lower-case names) and body."""


def encode_answer(
    answer: Answer, execution_id: int | None = None, *, duplicate: bool = False
) -> EncodedAnswer:
    """An answer encoded for ASGI, from its wire form (made now for an answer without one).

    `duplicate` marks the repeated answer of an idempotency key's holder (`DUPLICATE_HEADER`).
    Every encoded answer ends with `SECURITY_HEADERS`. An answer made before it was checked (one stored
    with an execution by an older hookline) that cannot be sent is refused with `500 answer_invalid`.
    """
    wire = answer.wire or _wire_of(answer)
    headers = list(wire.headers)
    if execution_id is not None:
        headers.append((_EXECUTION, str(execution_id).encode()))
    if duplicate:
        headers.append(_DUPLICATE)
    headers += SECURITY_HEADERS
    return answer.status_code, headers, wire.body


def encode_error(error: HooklineError) -> EncodedAnswer:
    """hookline's own JSON error answer for an error, with the headers it carries, encoded for ASGI."""
    body = orjson.dumps(error.to_json())
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in error.headers.items()
    ]
    headers += ((b"content-length", str(len(body)).encode()), (b"content-type", _JSON), *SECURITY_HEADERS)
    return error.status, headers, body


def invalid_answer(error: Unsendable) -> RejectedRequest:
    """The `500 answer_invalid` of a workflow whose rendered answer HTTP cannot carry."""
    return RejectedRequest(500, "answer_invalid", f"The answer this workflow gives cannot be sent: {error}.")


def _wire_of(answer: Answer) -> WireForm:
    """The wire form of an answer made without one: hookline's own, or one read back from storage."""
    try:
        return wire_form(answer.status_code, answer.headers, answer.body)[1]
    except Unsendable as error:
        raise invalid_answer(error) from None


def error_answer(error: HooklineError, execution_id: int | None = None) -> Response:
    """hookline's own JSON error answer for an error, with the headers it carries, as a Starlette response."""
    headers = dict(error.headers)
    if execution_id is not None:
        headers[EXECUTION_HEADER] = str(execution_id)
    return Response(orjson.dumps(error.to_json()), error.status, headers, "application/json")
