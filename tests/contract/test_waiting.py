"""The node runtime's waits on SQLite and PostgreSQL: suspend, resume elsewhere, retry in place.

A node that asks to be called again later (`Outcome.later`) makes its asynchronous execution
`waiting`: no claim, no worker, its pending job recorded; any pool resumes it once due, calling the
node again with that job. A wait is not an attempt, and a node that retried is one job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import RowMapping, select

from hookline.engine.flows import FlowCache
from hookline.errors import Problem
from hookline.exchange import flow_from_json
from hookline.models import ExecutionStatus, Flow, Job, JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome, WaitReason
from hookline.nodes.registry import register, unregister
from hookline.queue.worker import WorkerPool
from hookline.store.schema import executions
from hookline.store.sql_store import SqlStore
from hookline.types import JsonObject
from tests._factories import make_execution
from tests._workflows import chain

WITHIN = 10.0
"""How long a test waits for what the workers do at once (far above what it takes)."""


class WaitingNode(NodeType):
    """Test node: waits `config.waits` times (delay or retry, `config.reason`), then resolves.

    Every call is noted as (attempt, job id, the state of the pending job it was given).
    """

    type: ClassVar[str] = "wait-test"
    calls: ClassVar[list[tuple[int, int, Any]]] = []

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        state = ctx.previous.result if ctx.previous is not None else None
        self.calls.append((ctx.attempt, ctx.job_id, state))
        waited = len(self.calls) - 1
        if waited < config.get("waits", 1):
            until = datetime.now(UTC) + timedelta(seconds=config.get("seconds", 0.2))
            return Outcome.later(until, {"waited": waited + 1}, WaitReason(config.get("reason", "delay")))
        return Outcome(JobStatus.RESOLVED, {"calls": len(self.calls)})


@pytest.fixture(autouse=True)
def waiting_node() -> Iterator[None]:
    """Register the test node with a fresh call list, for one test."""
    WaitingNode.calls = []
    register(WaitingNode())
    yield
    unregister(WaitingNode.type)


async def waiting_flow(store: SqlStore, **config: Any) -> Flow:
    """An enabled asynchronous flow: the waiting node (with this config), then nothing; stored."""
    workflow = chain("wait-test")
    workflow["nodes"][0]["config"] = config
    flow = flow_from_json(workflow)
    await store.add_flow(flow)
    return flow


def pool(store: SqlStore, **options: Any) -> WorkerPool:
    """A worker pool that polls often (a waiting execution is picked up within 50 ms of being due)."""
    settings: dict[str, Any] = {"concurrency": 4, "lease_seconds": 5.0, "poll_seconds": 0.05, **options}
    return WorkerPool(store, FlowCache(store), **settings)


async def queue_one(store: SqlStore, flow: Flow) -> int:
    """Queue one execution of the flow; its id."""
    execution = make_execution(flow)
    await store.add_execution(execution)
    return execution.id


async def claim_row(store: SqlStore, execution_id: int) -> RowMapping:
    """The status and claim columns of one execution."""
    c = executions.c
    query = select(c.status, c.claimed_by, c.claim_expires_at, c.run_after, c.attempt)
    async with store.engine.connect() as connection:
        return (await connection.execute(query.where(c.id == execution_id))).mappings().one()


async def until_status(store: SqlStore, execution_id: int, status: ExecutionStatus) -> None:
    """Poll the store until the execution has this status; fail after WITHIN seconds."""
    async with asyncio.timeout(WITHIN):
        while (await claim_row(store, execution_id))["status"] != status.value:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def jobs_of(store: SqlStore, execution_id: int) -> list[Job]:
    """The recorded jobs of an execution."""
    return await store.list_jobs(execution_id)


async def test_a_suspended_execution_waits_unclaimed_and_another_pool_resumes_it(store: SqlStore) -> None:
    """Suspended: `waiting`, no claim, no worker, one pending job; a second pool finishes it once due."""
    flow = await waiting_flow(store, waits=1, seconds=0.5)
    execution_id = await queue_one(store, flow)
    first = pool(store)
    await first.drain()  # runs the node once: it suspends, so nothing is left running here
    row = await claim_row(store, execution_id)
    assert row["status"] == "waiting"
    assert (row["claimed_by"], row["claim_expires_at"], row["attempt"]) == (None, None, 1)
    assert row["run_after"] > datetime.now(UTC)
    assert first.running == 0
    [pending] = await jobs_of(store, execution_id)
    assert (pending.status, pending.result, pending.finished_at) == (JobStatus.PENDING, {"waited": 1}, None)
    assert pending.meta["waitReason"] == "delay"
    assert await store.claim_executions("early", limit=5, lease_seconds=5.0, now=datetime.now(UTC)) == []

    second = pool(store)
    second.start()
    try:
        await until_status(store, execution_id, ExecutionStatus.RESOLVED)
    finally:
        await second.stop()
    [done] = await jobs_of(store, execution_id)
    assert (done.id, done.status, done.result) == (pending.id, JobStatus.RESOLVED, {"calls": 2})
    assert done.started_at == pending.started_at
    assert done.finished_at is not None
    assert "attempt" not in done.meta
    assert "waitingUntil" not in done.meta
    assert WaitingNode.calls == [(1, pending.id, None), (1, pending.id, {"waited": 1})]
    execution = await store.get_execution(execution_id)
    assert execution is not None
    assert execution.attempt == 1


async def test_a_retry_later_is_one_job_with_its_attempt_count(store: SqlStore) -> None:
    """A node that asks twice for a retry is called three times, as attempts 1, 2, 3 of one job."""
    flow = await waiting_flow(store, waits=2, seconds=0.05, reason="retry")
    execution_id = await queue_one(store, flow)
    workers = pool(store)
    workers.start()
    try:
        await until_status(store, execution_id, ExecutionStatus.RESOLVED)
    finally:
        await workers.stop()
    [job] = await jobs_of(store, execution_id)
    assert (job.status, job.meta.get("attempt")) == (JobStatus.RESOLVED, 3)
    assert [(attempt, job_id) for attempt, job_id, _ in WaitingNode.calls] == [
        (1, job.id),
        (2, job.id),
        (3, job.id),
    ]
    assert [state for _, _, state in WaitingNode.calls] == [None, {"waited": 1}, {"waited": 2}]


async def test_waiting_is_not_an_attempt(store: SqlStore) -> None:
    """Six waits under `max_attempts=2` still finish: only claims that ran and stopped count."""
    flow = await waiting_flow(store, waits=6, seconds=0.02)
    execution_id = await queue_one(store, flow)
    workers = pool(store, max_attempts=2)
    workers.start()
    try:
        await until_status(store, execution_id, ExecutionStatus.RESOLVED)
    finally:
        await workers.stop()
    execution = await store.get_execution(execution_id)
    assert execution is not None
    assert (execution.attempt, execution.error) == (1, None)
    assert len(WaitingNode.calls) == 7


async def test_a_waiting_execution_can_be_canceled_and_is_never_resumed(store: SqlStore) -> None:
    """Canceled while waiting: `canceled`, and its node is not called again once the time comes."""
    flow = await waiting_flow(store, waits=1, seconds=0.2)
    execution_id = await queue_one(store, flow)
    workers = pool(store)
    await workers.drain()
    assert await store.cancel_execution(execution_id, now=datetime.now(UTC)) is True
    workers.start()
    try:
        await asyncio.sleep(0.5)  # past the wait, with claims every 50 ms: nothing may resume it
    finally:
        await workers.stop()
    assert (await claim_row(store, execution_id))["status"] == "canceled"
    assert len(WaitingNode.calls) == 1


async def test_a_pool_wakes_for_a_wait_shorter_than_its_poll_interval(store: SqlStore) -> None:
    """A 0.1 s wait under a 30 s poll interval ends within the wait, not the next poll."""
    flow = await waiting_flow(store, waits=1, seconds=0.1, reason="retry")
    execution_id = await queue_one(store, flow)
    workers = pool(store, poll_seconds=30.0)
    workers.start()
    workers.wake()
    try:
        await until_status(store, execution_id, ExecutionStatus.RESOLVED)
    finally:
        await workers.stop()
