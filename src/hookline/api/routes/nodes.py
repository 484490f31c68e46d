"""`/api/workflows/{id}/nodes`: add, change, move and delete the nodes of a workflow version."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hookline.admin.views import node_view
from hookline.api.routes import NodeId, RuntimeDep, WorkflowId, error_answers, path_id, query_id
from hookline.api.schemas import NodeCreate, NodeMove, NodeOut, NodePatch
from hookline.types import JsonObject

router = APIRouter(
    prefix="/workflows/{workflow_id}/nodes",
    tags=["nodes"],
    responses=error_answers(401, 404, 409, 422),
)


@router.post("", summary="Add a node", status_code=201, response_model=NodeOut, responses=error_answers(400))
async def add_node(runtime: RuntimeDep, workflow_id: WorkflowId, body: NodeCreate) -> JsonObject:
    """Add a node after `upstream_id` (null: as the new head), or as the head of branch `branch_index`.

    Its config is checked by its node type; each problem is listed in the 422 answer.
    """
    version = path_id(workflow_id, "workflow")
    added = await runtime.workflows.add_node(
        version,
        type=body.type,
        config=body.config,
        title=body.title,
        key=body.key,
        upstream_id=query_id(body.upstream_id, "body.upstream_id"),
        branch_index=body.branch_index,
    )
    # `add_node` gives the node as it was before it was linked in; the stored one has its links.
    flow = await runtime.workflows.get(version)
    return node_view(next(node for node in flow.nodes if node.id == added.id))


@router.patch("/{node_id}", summary="Change a node", response_model=NodeOut, responses=error_answers(400))
async def update_node(
    runtime: RuntimeDep, workflow_id: WorkflowId, node_id: NodeId, body: NodePatch
) -> JsonObject:
    """Change a node's title and/or config (checked by its node type)."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    node = await runtime.workflows.update_node(
        path_id(workflow_id, "workflow"), path_id(node_id, "node"), **changes
    )
    return node_view(node)


@router.post("/{node_id}/move", summary="Move a node", response_model=NodeOut, responses=error_answers(400))
async def move_node(
    runtime: RuntimeDep, workflow_id: WorkflowId, node_id: NodeId, body: NodeMove
) -> JsonObject:
    """Move a node with its branches; its downstream takes its old place."""
    node = await runtime.workflows.move_node(
        path_id(workflow_id, "workflow"),
        path_id(node_id, "node"),
        upstream_id=query_id(body.upstream_id, "body.upstream_id"),
        branch_index=body.branch_index,
    )
    return node_view(node)


@router.delete("/{node_id}", summary="Delete a node", status_code=204, response_class=Response)
async def delete_node(runtime: RuntimeDep, workflow_id: WorkflowId, node_id: NodeId) -> None:
    """Delete a node and every node in its branches; its downstream takes its place."""
    await runtime.workflows.delete_node(path_id(workflow_id, "workflow"), path_id(node_id, "node"))
