"""The answers the webhook trigger gives: configured, default, and hookline's own errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from hookline.engine.templates import render
from hookline.errors import HooklineError
from hookline.models import Answer, ExecutionStatus
from hookline.nodes.response import header_text
from hookline.types import JsonValue

EXECUTION_HEADER = "X-Hookline-Execution"
DEFAULT_ASYNC_ANSWER = Answer(200, (), "ok")


def configured_answer(config: Mapping[str, Any], scope: Mapping[str, Any]) -> Answer:
    """The asynchronous answer of a trigger config, templated over `$context`; default `200 ok`."""
    setting = config.get("response")
    if not isinstance(setting, Mapping):
        return DEFAULT_ASYNC_ANSWER
    status = setting.get("statusCode", 200)
    headers = tuple(
        (str(h["name"]), header_text(str(h["name"]), render(h.get("value"), scope)))
        for h in setting.get("headers") or ()
    )
    body = render(setting["body"], scope) if "body" in setting else "ok"
    return Answer(int(status), headers, body)


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


def to_response(answer: Answer, execution_id: int | None = None) -> Response:
    """An HTTP response for an answer: text bodies as text, everything else as JSON."""
    headers = dict(answer.headers)
    lower = {name.lower() for name in headers}
    if execution_id is not None:
        headers[EXECUTION_HEADER] = str(execution_id)
    content, default_type = _encode(answer.body)
    media_type = None if "content-type" in lower else default_type
    return Response(content, answer.status_code, headers=headers, media_type=media_type)


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
