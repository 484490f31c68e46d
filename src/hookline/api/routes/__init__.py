"""The admin API's routers, and what their endpoints share: the runtime, ids, URLs, error answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from hookline.api.errors import InvalidRequest
from hookline.api.schemas import MAX_ID, ErrorBody
from hookline.errors import NotFound, Problem
from hookline.runtime import Runtime
from hookline.settings import on_port

_ID = re.compile(r"[0-9]{1,19}")

_ERRORS = {
    400: "The body is not valid JSON (`malformed_json`).",
    401: "The admin token is missing or wrong (`unauthorized`).",
    404: "Nothing has this id (`not_found`).",
    409: "The change contradicts the current state, e.g. an executed version is frozen.",
    413: "The sample is too large (`sample_too_large`).",
    422: "The request or the workflow is not valid; `details` lists each problem.",
}


def error_answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of these error answers, all in the one error shape."""
    return {status: {"model": ErrorBody, "description": _ERRORS[status]} for status in statuses}


async def _runtime(request: Request) -> Runtime:
    """The server's runtime, set on the admin app when it was built."""
    getter: Callable[[], Runtime] = request.app.state.runtime
    return getter()


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
"""A parameter that receives the server's runtime."""


WorkflowId = Annotated[str, Path(description="The id of a workflow version.")]
NodeId = Annotated[str, Path(description="The id of a node of that version.")]
ExecutionId = Annotated[str, Path(description="The id of an execution.")]


def path_id(text: str, what: str) -> int:
    """An id from a URL; anything that cannot be an id is unknown, like an id nothing has."""
    if not _ID.fullmatch(text) or int(text) > MAX_ID:
        raise NotFound(f"No {what} has the id {text!r}.")
    return int(text)


def query_id(text: str | None, where: str) -> int | None:
    """An id from a query or body (its digits already checked by the schema), within 63 bits."""
    if text is None:
        return None
    if int(text) > MAX_ID:
        raise InvalidRequest([Problem(where, f"must be an id no larger than {MAX_ID}")])
    return int(text)


def webhook_url(request: Request, runtime: Runtime, key: str) -> str:
    """A webhook's URL: from `HOOKLINE_PUBLIC_URL`, else this request's host (on the webhook port if set)."""
    settings = runtime.settings
    if settings.public_url:
        return settings.webhook_url(key)
    base = on_port(f"{request.url.scheme}://{request.url.netloc}", settings.webhook_port)
    return f"{base}/api/webhook:trigger/{key}"
