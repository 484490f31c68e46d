"""An asynchronous loop's progress survives on SQLite and PostgreSQL: it resumes at the item it was on.

Items whose branch finished are replayed from their recorded jobs, not run again, whether the run
stopped because its process went away (here: a pool stopped without grace) or because a node in
the branch waits (a retry's back-off).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from hookline.engine.flows import FlowCache
from hookline.errors import Problem
from hookline.exchange import flow_from_json
from hookline.models import ExecutionStatus, Job, JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome, WaitReason
from hookline.nodes.registry import register, unregister
from hookline.queue.worker import WorkerPool
from hookline.store.sql_store import SqlStore
from hookline.types import JsonObject
from tests._factories import make_execution
from tests._waiting import wait_until

ITEMS = 5


class ItemNode(NodeType):
    """Test node: counts calls per loop item; blocks on item `config.hold`, waits once on `config.retry`."""

    type: ClassVar[str] = "loop-item"
    calls: ClassVar[dict[int, int]] = {}
    entered: ClassVar[asyncio.Event]
    release: ClassVar[asyncio.Event]

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        item = ctx.scope["$scopes"]["loop"]["item"]
        self.calls[item] = self.calls.get(item, 0) + 1
        if item == config.get("hold"):
            type(self).entered.set()
            await type(self).release.wait()
        if item == config.get("retry") and ctx.previous is None:
            return Outcome.later(datetime.now(UTC) + timedelta(seconds=0.1), {"item": item}, WaitReason.RETRY)
        return Outcome(JobStatus.RESOLVED, item)


@pytest.fixture(autouse=True)
def item_node() -> Iterator[None]:
    """Register the test node with fresh counters and events, for one test."""
    ItemNode.calls = {}
    ItemNode.entered, ItemNode.release = asyncio.Event(), asyncio.Event()
    register(ItemNode())
    yield
    unregister(ItemNode.type)


async def loop_execution(store: SqlStore, branch: str = "loop-item", **config: Any) -> int:
    """Store an async workflow looping over 0..ITEMS-1 with one `branch` node; queue a run."""
    flow = flow_from_json(
        {
            "title": "loop",
            "type": "webhook",
            "sync": False,
            "enabled": True,
            "config": {},
            "nodes": [
                {
                    "key": "loop",
                    "type": "loop",
                    "upstream": None,
                    "branchIndex": None,
                    "config": {"target": ITEMS},
                },
                {"key": "item", "type": branch, "upstream": "loop", "branchIndex": 0, "config": config},
            ],
        }
    )
    await store.add_flow(flow)
    execution = make_execution(flow)
    await store.add_execution(execution)
    return execution.id


def pool(store: SqlStore) -> WorkerPool:
    """A worker pool that polls often."""
    return WorkerPool(store, FlowCache(store), concurrency=2, lease_seconds=5.0, poll_seconds=0.05)


async def resolved(store: SqlStore, execution_id: int) -> bool:
    """Whether the execution has resolved."""
    execution = await store.get_execution(execution_id)
    return execution is not None and execution.status is ExecutionStatus.RESOLVED


async def test_a_loop_stopped_mid_item_resumes_at_that_item(store: SqlStore) -> None:
    """Stopped during item 2: the next pool replays items 0 and 1 and runs 2 (again), 3 and 4 once."""
    execution_id = await loop_execution(store, hold=2)
    first = pool(store)
    first.start()
    await asyncio.wait_for(ItemNode.entered.wait(), 10)
    await first.stop(grace=0)  # as a process that goes away: the run is cut off, its claim released
    ItemNode.release.set()
    second = pool(store)
    second.start()
    try:
        await wait_until(lambda: resolved(store, execution_id), "the loop finished", within=10)
    finally:
        await second.stop()
    assert ItemNode.calls == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1}
    jobs = await store.list_jobs(execution_id)
    items = [job for job in jobs if job.node_key == "item"]
    assert [job.result for job in items] == [0, 1, 2, 3, 4]  # each item recorded once
    assert_one_loop_job_first(jobs)


async def test_a_wait_inside_a_loop_resumes_at_its_item(store: SqlStore) -> None:
    """Item 1 asks for a retry: the execution waits, then goes on at item 1 without rerunning item 0."""
    execution_id = await loop_execution(store, retry=1)
    workers = pool(store)
    workers.start()
    try:
        await wait_until(lambda: resolved(store, execution_id), "the loop finished", within=10)
    finally:
        await workers.stop()
    assert ItemNode.calls == {0: 1, 1: 2, 2: 1, 3: 1, 4: 1}
    jobs = await store.list_jobs(execution_id)
    retried = [job for job in jobs if job.node_key == "item" and job.meta["iteration"] == "loop#1/"]
    assert [(job.status, job.meta.get("attempt")) for job in retried] == [(JobStatus.RESOLVED, 2)]
    assert_one_loop_job_first(jobs)


def assert_one_loop_job_first(jobs: list[Job]) -> None:
    """The loop kept one job across the resume (recorded before its items, so listed first), finished."""
    assert jobs[0].node_key == "loop"
    [loop] = [job for job in jobs if job.node_key == "loop"]
    assert loop.status is JobStatus.RESOLVED
    assert loop.result == {"looped": ITEMS, "done": ITEMS, "length": ITEMS}


async def test_an_end_inside_a_loop_ends_its_job_too(store: SqlStore) -> None:
    """An `end` in the branch ends the execution at the first item; the loop's job ends, not left pending."""
    execution_id = await loop_execution(store, branch="end", endStatus="failed")
    workers = pool(store)
    workers.start()
    try:
        await wait_until(lambda: finished(store, execution_id), "the execution ended", within=10)
    finally:
        await workers.stop()
    jobs = await store.list_jobs(execution_id)
    expected = [("loop", JobStatus.FAILED), ("item", JobStatus.FAILED)]
    assert [(job.node_key, job.status) for job in jobs] == expected
    assert all(job.finished_at is not None for job in jobs)


async def finished(store: SqlStore, execution_id: int) -> bool:
    """Whether the execution has ended, however."""
    execution = await store.get_execution(execution_id)
    return execution is not None and execution.status.is_final
