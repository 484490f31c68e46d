"""`/api/executions`: list and inspect executions, read their files, cancel, replay and resume them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse

from hookline.admin.views import execution_detail_view, execution_view
from hookline.api.routes import ExecutionId, RuntimeDep, error_answers, path_id, query_id
from hookline.api.schemas import (
    ID_PATTERN,
    NO_NUL,
    ExecutionDetailOut,
    ExecutionOut,
    ExecutionPage,
    Replayed,
    UtcTime,
)
from hookline.errors import NotFound
from hookline.models import ExecutionStatus
from hookline.store.base import Store
from hookline.store.execution_history import ExecutionFilter
from hookline.store.file_store import StoredFile
from hookline.types import JsonObject

router = APIRouter(prefix="/executions", tags=["executions"], responses=error_answers(401, 422))


@router.get("", summary="List executions, newest first", response_model=ExecutionPage)
async def list_executions(
    runtime: RuntimeDep,
    workflow: Annotated[
        str | None, Query(max_length=255, pattern=NO_NUL, description="Only this workflow key.")
    ] = None,
    workflow_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only this workflow version.")
    ] = None,
    status: ExecutionStatus | None = None,
    since: Annotated[
        UtcTime | None, Query(description="Created at or after (ISO 8601; UTC when no offset).")
    ] = None,
    until: Annotated[
        UtcTime | None, Query(description="Created before (ISO 8601; UTC when no offset).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        str | None,
        Query(pattern=ID_PATTERN, description="Only executions older than this id (`next_before`)."),
    ] = None,
) -> JsonObject:
    """One page of executions matching every filter given."""
    query = ExecutionFilter(
        workflow_key=workflow,
        workflow_id=query_id(workflow_id, "query.workflow_id"),
        status=status,
        created_after=since,
        created_before=until,
        limit=limit + 1,
        before_id=query_id(before, "query.before"),
    )
    found = await runtime.executions.find(query)
    page = found[:limit]
    more = len(found) > limit
    return {"items": [execution_view(e) for e in page], "next_before": str(page[-1].id) if more else None}


@router.get(
    "/{execution_id}",
    summary="Get an execution with its jobs",
    response_model=ExecutionDetailOut,
    responses=error_answers(404),
)
async def get_execution(runtime: RuntimeDep, execution_id: ExecutionId) -> JsonObject:
    """The execution's context, answer, output, and every job with its result and timing."""
    execution, jobs = await runtime.executions.get(path_id(execution_id, "execution"))
    return execution_detail_view(execution, jobs)


FileId = Annotated[str, Path(description="The id of a file of that execution (`id` in its body).")]


@router.get(
    "/{execution_id}/files/{file_id}",
    summary="Download a file of an execution's multipart body",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file's bytes."},
        **error_answers(404),
    },
)
async def get_execution_file(
    runtime: RuntimeDep, execution_id: ExecutionId, file_id: FileId
) -> StreamingResponse:
    """The bytes of a file the request carried (`config.request.files` on), streamed as stored.

    It comes as an attachment with its content type, never to be shown as a page of this origin.
    """
    execution, file = path_id(execution_id, "execution"), path_id(file_id, "file")
    stored = await runtime.store.get_file(execution, file)
    if stored is None:
        raise NotFound(f"Execution {execution} has no file with the id {file}.")
    return StreamingResponse(
        _chunks(runtime.store, stored.id),
        media_type=stored.content_type,
        headers=_download_headers(stored),
    )


async def _chunks(store: Store, file_id: int) -> AsyncIterator[bytes]:
    """A stored file's bytes, one chunk read at a time."""
    position = 0
    while (chunk := await store.read_file_chunk(file_id, position)) is not None:
        yield chunk
        position += 1


def _download_headers(file: StoredFile) -> dict[str, str]:
    """An attachment's headers: its size, its name (RFC 6266, safe in any client), and no sniffing."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file.filename
    )
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file.filename, safe='')}"
    return {
        "Content-Disposition": disposition,
        "Content-Length": str(file.size),
        "X-Content-Type-Options": "nosniff",
        # Whatever type the sender claimed (text/html, say), nothing in it may run in the admin's origin.
        "Content-Security-Policy": "sandbox",
    }


@router.post(
    "/{execution_id}/cancel",
    summary="Cancel a queued or running execution",
    response_model=ExecutionOut,
    responses=error_answers(404, 409),
)
async def cancel_execution(runtime: RuntimeDep, execution_id: ExecutionId) -> JsonObject:
    """Cancel the execution; one that already finished is a 409 `not_cancelable`."""
    execution = await runtime.executions.cancel(path_id(execution_id, "execution"))
    return execution_view(execution)


@router.post(
    "/{execution_id}/replay",
    summary="Replay an execution on the current version",
    status_code=201,
    response_model=Replayed,
    responses={
        202: {"model": Replayed, "description": "The workflow is asynchronous: the replay is queued."},
        **error_answers(404),
    },
)
async def replay_execution(runtime: RuntimeDep, execution_id: ExecutionId, response: Response) -> JsonObject:
    """A new execution with the same trigger data: run at once (201) or left to the workers (202)."""
    replayed = await runtime.executions.replay(path_id(execution_id, "execution"))
    if not replayed.execution.status.is_final:  # queued, or started by a worker that was free
        response.status_code = 202
    return {"execution": execution_view(replayed.execution), "answer": replayed.answer.to_json()}


@router.post(
    "/{execution_id}/resume",
    summary="Resume a failed execution from its failed node",
    status_code=202,
    response_model=ExecutionOut,
    responses=error_answers(404, 409),
)
async def resume_execution(runtime: RuntimeDep, execution_id: ExecutionId) -> JsonObject:
    """Queue a failed execution again: it reruns its failed node, not the ones that resolved."""
    execution = await runtime.executions.resume(path_id(execution_id, "execution"))
    return execution_view(execution)
