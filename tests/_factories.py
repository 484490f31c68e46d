"""Records the tests build: flows, linked nodes, executions and jobs at a fixed time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hookline.ids import new_id
from hookline.models import Execution, ExecutionStatus, Flow, Job, JobStatus, Node, Workflow
from hookline.store.sql_store import SqlStore
from hookline.types import JsonObject

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""The fixed "now" the records are made at and the store is asked about."""

LEASE = 30.0
"""The seconds a test's claims last."""

DAY = timedelta(days=1)
"""One day, for ages of records."""


def make_flow(key: str = "orders", *, enabled: bool = True, title: str = "Orders") -> Flow:
    """A workflow version with a head node and one branch node."""
    workflow = Workflow(
        id=new_id(),
        key=key,
        title=title,
        sync=True,
        enabled=enabled,
        description="paid orders",
        config={"request": {"body": [{"key": "order.id", "alias": "Order"}]}, "basicAuthentication": False},
        options={"timeout": 5000},
        created_at=NOW,
        updated_at=NOW,
    )
    head = Node(id=new_id(), workflow_id=workflow.id, key="paid", type="condition", config={"a": 1})
    branch = Node(
        id=new_id(),
        workflow_id=workflow.id,
        key="ok",
        type="response",
        title="OK",
        config={"statusCode": 200},
        upstream_id=head.id,
        branch_index=1,
    )
    return Flow(workflow, (head, branch))


def make_node(
    node_id: int,
    kind: str,
    *,
    key: str | None = None,
    upstream: int | None = None,
    branch: int | None = None,
    downstream: int | None = None,
    config: JsonObject | None = None,
) -> Node:
    """A node of workflow 1 with explicit links (node ids), keyed `n<id>` unless `key` is given."""
    return Node(
        id=node_id,
        workflow_id=1,
        key=key or f"n{node_id}",
        type=kind,
        config=config or {},
        upstream_id=upstream,
        downstream_id=downstream,
        branch_index=branch,
    )


def make_execution(flow: Flow, **fields: Any) -> Execution:
    """A queued execution of a flow; keyword arguments override fields."""
    execution = Execution(
        id=new_id(),
        workflow_id=flow.workflow.id,
        key=flow.workflow.key,
        event_key=f"event-{new_id()}",
        context={"headers": {"x-id": "1"}, "query": {}, "body": {"order": {"id": 7}}},
        status=ExecutionStatus.QUEUED,
        created_at=NOW,
    )
    return replace(execution, **fields)


def make_job(execution: Execution, **fields: Any) -> Job:
    """A resolved job of an execution; keyword arguments override fields."""
    job = Job(
        id=new_id(),
        execution_id=execution.id,
        node_id=42,
        node_key="paid",
        status=JobStatus.RESOLVED,
        result=True,
        meta={"branch": 1},
        started_at=NOW,
        finished_at=NOW + timedelta(milliseconds=3),
    )
    return replace(job, **fields)


def with_retention(flow: Flow, retention: object) -> Flow:
    """The same flow with a retention option."""
    return Flow(replace(flow.workflow, options={"retention": retention}), flow.nodes)


async def stored(store: SqlStore, flow: Flow, status: ExecutionStatus, days_ago: float) -> int:
    """Store an execution of `flow` that finished `days_ago` days before NOW, with one job; its id."""
    finished = NOW - days_ago * DAY
    execution = make_execution(
        flow, status=status, created_at=finished, started_at=finished, finished_at=finished
    )
    await store.add_execution(execution, [make_job(execution)])
    return execution.id
