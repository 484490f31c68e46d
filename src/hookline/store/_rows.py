"""Rows <-> records: the dictionaries SqlStore writes and the models it builds from what it reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from hookline.models import Claim, Execution, ExecutionStatus, Job, JobStatus, Limits, Node, Workflow


def workflow_row(workflow: Workflow, *, current: bool, now: datetime) -> dict[str, Any]:
    """A workflows row; `current` is TRUE or NULL so the unique index allows one per key."""
    return {
        "id": workflow.id,
        **workflow.settings(),
        "current": True if current else None,
        "created_at": workflow.created_at or now,
        "updated_at": workflow.updated_at or now,
    }


def to_workflow(row: RowMapping) -> Workflow:
    """A Workflow from its row."""
    return Workflow(
        id=row["id"],
        key=row["key"],
        title=row["title"],
        type=row["type"],
        sync=row["sync"],
        enabled=row["enabled"],
        current=bool(row["current"]),
        description=row["description"],
        config=row["config"],
        options=row["options"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def node_row(node: Node) -> dict[str, Any]:
    """A nodes row."""
    return {
        "id": node.id,
        "workflow_id": node.workflow_id,
        "key": node.key,
        "type": node.type,
        "title": node.title,
        "config": node.config,
        "upstream_id": node.upstream_id,
        "downstream_id": node.downstream_id,
        "branch_index": node.branch_index,
    }


def to_node(row: RowMapping) -> Node:
    """A Node from its row."""
    return Node(
        id=row["id"],
        workflow_id=row["workflow_id"],
        key=row["key"],
        type=row["type"],
        config=row["config"],
        title=row["title"],
        upstream_id=row["upstream_id"],
        downstream_id=row["downstream_id"],
        branch_index=row["branch_index"],
    )


def execution_row(
    execution: Execution, limits: Limits | None = None, claim: Claim | None = None
) -> dict[str, Any]:
    """An executions row (every column), with its workflow's limits and the worker's claim if any.

    Every row has the same keys, limits or not: the writer merges the rows of one batch into
    one executemany, whose columns are those of its first row.
    """
    return {
        "id": execution.id,
        "workflow_id": execution.workflow_id,
        "key": execution.key,
        "event_key": execution.event_key,
        "context": execution.context,
        "status": execution.status.value,
        "output": execution.output,
        "response": execution.response,
        "error": execution.error,
        "attempt": execution.attempt,
        "claimed_by": claim.worker_id if claim is not None else None,
        "claim_expires_at": claim.expires_at if claim is not None else None,
        "run_after": None,
        "concurrency": limits.concurrency if limits is not None else None,
        "queue_limit": limits.stored_queue_limit if limits is not None else None,
        "created_at": execution.created_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
    }


def to_execution(row: Mapping[Any, Any]) -> Execution:
    """An Execution from its row."""
    return Execution(
        id=row["id"],
        workflow_id=row["workflow_id"],
        key=row["key"],
        event_key=row["event_key"],
        context=row["context"],
        status=ExecutionStatus(row["status"]),
        created_at=row["created_at"],
        output=row["output"],
        response=row["response"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempt=row["attempt"],
        error=row["error"],
    )


def job_row(job: Job) -> dict[str, Any]:
    """A jobs row."""
    return {
        "id": job.id,
        "execution_id": job.execution_id,
        "node_id": job.node_id,
        "node_key": job.node_key,
        "status": job.status.value,
        "result": job.result,
        "meta": job.meta,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def to_job(row: Mapping[Any, Any]) -> Job:
    """A Job from its row."""
    return Job(
        id=row["id"],
        execution_id=row["execution_id"],
        node_id=row["node_id"],
        node_key=row["node_key"],
        status=JobStatus(row["status"]),
        result=row["result"],
        meta=row["meta"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )
