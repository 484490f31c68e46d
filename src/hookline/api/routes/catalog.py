"""`/api/node-types` and `/api/stats`: what the editor may offer, and recent activity per workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from hookline.api.routes import RuntimeDep, error_answers
from hookline.api.schemas import ExecutionStats, NodeTypeOut, UtcTime
from hookline.models import ExecutionStatus
from hookline.nodes.registry import NODE_TYPES
from hookline.types import JsonObject

router = APIRouter(tags=["catalog"], responses=error_answers(401, 422))

FAILED = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.ERROR, ExecutionStatus.ABORTED, ExecutionStatus.REJECTED}
)
"""The statuses the workflow list highlights as failures."""


@router.get("/node-types", summary="The node types this server runs", response_model=list[NodeTypeOut])
async def list_node_types() -> list[JsonObject]:
    """Every registered node type, and in which workflows it may be used."""
    return [
        {"type": name, "sync_only": kind.sync_only, "async_only": kind.async_only, "terminal": kind.terminal}
        for name, kind in sorted(NODE_TYPES.items())
    ]


@router.get(
    "/stats/executions", summary="Executions per workflow key since a time", response_model=ExecutionStats
)
async def execution_stats(
    runtime: RuntimeDep,
    since: Annotated[
        UtcTime | None, Query(description="Created at or after (ISO 8601); default: 24 hours ago.")
    ] = None,
) -> JsonObject:
    """How many executions each workflow key had since `since`, by status, with the failed total."""
    since = since or datetime.now(UTC) - timedelta(hours=24)
    counts = await runtime.store.count_executions_by_status(since)
    workflows: dict[str, JsonObject] = {}
    for (key, status), count in sorted(counts.items()):
        entry = workflows.setdefault(key, {"key": key, "total": 0, "failed": 0, "by_status": {}})
        entry["total"] += count
        entry["failed"] += count if status in FAILED else 0
        entry["by_status"][status] = count
    return {"since": since.isoformat(), "workflows": list(workflows.values())}
