"""`/api/workflows/{id}/capture`: listen for a test request to a workflow's URL (docs/api.md)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Request

from hookline.api.routes import RuntimeDep, WorkflowId, error_answers, path_id
from hookline.api.schemas import CaptureOut, CaptureStart
from hookline.engine.captures import DEFAULT_TIMEOUT, Captures, capture_view
from hookline.types import JsonObject

T = TypeVar("T")

router = APIRouter(prefix="/workflows", tags=["workflows"], responses=error_answers(401, 422))


@router.post(
    "/{workflow_id}/capture",
    summary="Listen for a test request",
    response_model=CaptureOut,
    response_model_exclude_unset=True,
    responses=error_answers(400, 404),
)
async def capture_request(
    request: Request,
    runtime: RuntimeDep,
    workflow_id: WorkflowId,
    body: Annotated[CaptureStart | None, Body()] = None,
) -> JsonObject:
    """Wait up to `timeout` seconds for the next request to the workflow's URL, and answer with it.

    That request, from any server process, passes the trigger's checks (allow-list, credentials,
    signature, body parsing) as usual, is then answered `202 {"captured": true}` and runs nothing.
    The answer holds it with the paths "parse from a sample" gives, or `{"status": "expired"}`.
    Leaving early cancels the capture.
    """
    flow = await runtime.workflows.get(path_id(workflow_id, "workflow"))
    seconds = DEFAULT_TIMEOUT if body is None else body.timeout
    captures = Captures(runtime.store, runtime.flows)
    captured = await _unless_disconnected(request, captures.listen(flow.workflow.key, seconds))
    return capture_view(captured)


async def _unless_disconnected(request: Request, waiting: Coroutine[Any, Any, T]) -> T | None:
    """What `waiting` gives; None (it is cancelled) when the client disconnects first."""
    task = asyncio.ensure_future(waiting)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (gone, task):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
    return task.result() if not task.cancelled() else None


async def _disconnected(request: Request) -> None:
    """Return once the client has gone (its body was read already, so only a disconnect comes)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
