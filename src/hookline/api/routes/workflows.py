"""`/api/workflows`: list, create, read, change, version, enable, delete, export and import workflows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from hookline.admin.views import flow_view, workflow_view
from hookline.api.routes import RuntimeDep, WorkflowId, error_answers, path_id, webhook_url
from hookline.api.schemas import (
    NO_NUL,
    Deleted,
    FlowDetailOut,
    FlowOut,
    StorableObject,
    VersionList,
    WorkflowCreate,
    WorkflowDocument,
    WorkflowPage,
    WorkflowPatch,
)
from hookline.models import Flow, Workflow
from hookline.runtime import Runtime
from hookline.store.workflow_store import WorkflowFilter
from hookline.types import JsonObject

router = APIRouter(prefix="/workflows", tags=["workflows"], responses=error_answers(401, 422))

MAX_OFFSET = 2**31 - 1

_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WorkflowDocument"}}},
    }
}


@router.get("", summary="List workflows (current versions)", response_model=WorkflowPage)
async def list_workflows(
    request: Request,
    runtime: RuntimeDep,
    enabled: bool | None = None,
    kind: Annotated[str | None, Query(alias="type", max_length=64, pattern=NO_NUL)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="Text in the key, title or description."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> JsonObject:
    """Current workflow versions ordered by key, one page at a time."""
    query = WorkflowFilter(enabled=enabled, type=kind, text=q or None, limit=limit + 1, offset=offset)
    found = await runtime.workflows.find(query)
    return {
        "items": [_workflow(request, runtime, workflow) for workflow in found[:limit]],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(found) > limit else None,
    }


@router.post(
    "",
    summary="Create a workflow",
    status_code=201,
    response_model=FlowOut,
    responses=error_answers(400),
)
async def create_workflow(request: Request, runtime: RuntimeDep, body: WorkflowCreate) -> JsonObject:
    """A new, disabled workflow without nodes; its webhook key is generated."""
    flow = await runtime.workflows.create(**body.model_dump())
    return _flow(request, runtime, flow)


@router.post(
    "/import",
    summary="Import workflow JSON",
    status_code=201,
    response_model=FlowOut,
    responses=error_answers(400),
    openapi_extra=_IMPORT_BODY,
)
async def import_workflow(
    request: Request, runtime: RuntimeDep, document: Annotated[StorableObject, Body()]
) -> JsonObject:
    """Store workflow JSON as a new workflow, or as a new version of a key that exists.

    The format: docs/reference/workflow-json.md#import.
    """
    flow = await runtime.workflows.import_(document)
    return _flow(request, runtime, flow)


@router.get(
    "/{workflow_id}",
    summary="Get a workflow version with its nodes",
    response_model=FlowDetailOut,
    responses=error_answers(404),
)
async def get_workflow(request: Request, runtime: RuntimeDep, workflow_id: WorkflowId) -> JsonObject:
    """One version with its nodes, its webhook URL and how many executions it has."""
    flow = await runtime.workflows.get(path_id(workflow_id, "workflow"))
    executions = await runtime.workflows.execution_count(flow.workflow.id)
    return _flow(request, runtime, flow, executions=executions)


@router.patch(
    "/{workflow_id}",
    summary="Change a workflow version",
    response_model=FlowOut,
    responses=error_answers(400, 404, 409),
)
async def update_workflow(
    request: Request, runtime: RuntimeDep, workflow_id: WorkflowId, body: WorkflowPatch
) -> JsonObject:
    """Change title, description, trigger config or options; an executed version is frozen (409)."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    flow = await runtime.workflows.update(path_id(workflow_id, "workflow"), **changes)
    return _flow(request, runtime, flow)


@router.delete(
    "/{workflow_id}",
    summary="Delete a workflow with all its versions and executions",
    response_model=Deleted,
    responses=error_answers(404),
)
async def delete_workflow(runtime: RuntimeDep, workflow_id: WorkflowId) -> JsonObject:
    """Delete every version of the key, and their executions in small batches."""
    deleted = await runtime.workflows.delete(path_id(workflow_id, "workflow"))
    return {"deleted_executions": deleted}


@router.post(
    "/{workflow_id}/enable",
    summary="Enable a version (it becomes the current one)",
    response_model=FlowOut,
    responses=error_answers(404),
)
async def enable_workflow(request: Request, runtime: RuntimeDep, workflow_id: WorkflowId) -> JsonObject:
    """Make the version current and live; the previous version of its key is disabled."""
    flow = await runtime.workflows.set_enabled(path_id(workflow_id, "workflow"), True)
    return _flow(request, runtime, flow)


@router.post(
    "/{workflow_id}/disable",
    summary="Disable a version",
    response_model=FlowOut,
    responses=error_answers(404),
)
async def disable_workflow(request: Request, runtime: RuntimeDep, workflow_id: WorkflowId) -> JsonObject:
    """Stop the version from answering its webhook URL (it stays the current one)."""
    flow = await runtime.workflows.set_enabled(path_id(workflow_id, "workflow"), False)
    return _flow(request, runtime, flow)


@router.get(
    "/{workflow_id}/export",
    summary="Export a version as workflow JSON",
    response_model=WorkflowDocument,
    response_model_exclude_unset=True,
    responses=error_answers(404),
)
async def export_workflow(
    runtime: RuntimeDep,
    workflow_id: WorkflowId,
    include_secrets: Annotated[
        bool,
        Query(
            alias="includeSecrets",
            description="Write literal secrets as they are, not as placeholders (`[secret:i]`, `[secret]`).",
        ),
    ] = False,
) -> JsonObject:
    """The version in the workflow JSON format that import takes back (literal secrets as placeholders)."""
    workflow = path_id(workflow_id, "workflow")
    return await runtime.workflows.export(workflow, include_secrets=include_secrets)


@router.get(
    "/{workflow_id}/versions",
    summary="List the versions of a workflow's key",
    response_model=VersionList,
    responses=error_answers(404),
)
async def list_versions(request: Request, runtime: RuntimeDep, workflow_id: WorkflowId) -> JsonObject:
    """Every version sharing this version's key, oldest first."""
    versions = await runtime.workflows.versions(path_id(workflow_id, "workflow"))
    return {"items": [_workflow(request, runtime, workflow) for workflow in versions]}


@router.post(
    "/{workflow_id}/versions",
    summary="Create a new version from this one",
    status_code=201,
    response_model=FlowOut,
    responses=error_answers(404),
)
async def new_version(request: Request, runtime: RuntimeDep, workflow_id: WorkflowId) -> JsonObject:
    """A disabled copy with the same key and node keys, to edit and then enable."""
    flow = await runtime.workflows.new_version(path_id(workflow_id, "workflow"))
    return _flow(request, runtime, flow)


def _workflow(request: Request, runtime: Runtime, workflow: Workflow) -> JsonObject:
    return workflow_view(workflow, webhook_url(request, runtime, workflow.key))


def _flow(request: Request, runtime: Runtime, flow: Flow, *, executions: int | None = None) -> JsonObject:
    return flow_view(flow, webhook_url(request, runtime, flow.workflow.key), executions=executions)
