"""A new execution that a free worker can take runs at once: inserted claimed, handed over once committed.

The dispatcher and a real worker pool over one SQLite file; what each call left committed is read
by a second store over the same file, so the claim is seen as the database holds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hookline.engine.dispatcher import Dispatcher
from hookline.engine.flows import FlowCache
from hookline.models import ExecutionStatus, Limits
from hookline.queue.worker import WorkerPool
from hookline.store.schema import executions
from hookline.store.sql_store import SqlStore, open_store
from tests._factories import make_execution
from tests._waiting import wait_until
from tests._workflows import node
from tests.unit._dispatching import async_workflow, context, live
from tests.unit._engine_nodes import HangNode, registered_fresh


@pytest.fixture(autouse=True)
def test_nodes() -> Iterator[None]:
    """Register the test node types, with fresh notes, for one test."""
    with registered_fresh():
        yield


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """An SQLite file of this test's own."""
    return f"sqlite:///{tmp_path}/hookline.db"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    """The migrated store the dispatcher and the workers write to."""
    opened = await open_store(database_url)
    yield opened
    await opened.close()


@pytest.fixture
async def reader(store: SqlStore, database_url: str) -> AsyncIterator[SqlStore]:
    """Another store over the same file, with its own connections: it sees only what was committed."""
    opened = await open_store(database_url, migrate=False)
    yield opened
    await opened.close()


@pytest.fixture
async def pool(store: SqlStore) -> AsyncIterator[WorkerPool]:
    """One worker place, started, whose first claim has found the queue empty (so it is caught up).

    It never polls: only a place coming free (or `wake`) makes it claim from the queue, so an execution
    that runs without either went around the queue.
    """
    workers = WorkerPool(store, FlowCache(store), concurrency=1, lease_seconds=30.0, poll_seconds=3600)
    workers.start()
    await workers.drain()
    yield workers
    await workers.stop(grace=0.2)


@pytest.fixture
def dispatcher(store: SqlStore, pool: WorkerPool) -> Dispatcher:
    """A dispatcher that hands new executions to the pool when it can take them, and never wakes it."""
    return Dispatcher(store, starter=pool)


async def row(reader: SqlStore, execution_id: int) -> dict[str, Any]:
    """The committed status, claim and attempt of an execution."""
    c = executions.c
    query = select(c.status, c.claimed_by, c.claim_expires_at, c.attempt).where(c.id == execution_id)
    async with reader.engine.connect() as connection:
        return dict((await connection.execute(query)).mappings().one())


async def status_of(reader: SqlStore, execution_id: int) -> ExecutionStatus:
    """The committed status of an execution."""
    execution = await reader.get_execution(execution_id)
    assert execution is not None
    return execution.status


RECORD = async_workflow(node("a", "unit-record", value=1))
HANG = async_workflow(node("h", "unit-hang"))


async def test_a_new_execution_is_committed_claimed_by_the_free_worker_and_runs_at_once(
    dispatcher: Dispatcher, pool: WorkerPool, store: SqlStore, reader: SqlStore
) -> None:
    """When `enqueue` returns, the row is `started` under the pool's claim (attempt 1), and its node runs."""
    dispatched = await dispatcher.enqueue(await live(store, HANG), context({}))
    committed = await row(reader, dispatched.execution.id)
    assert (committed["status"], committed["claimed_by"], committed["attempt"]) == (
        "started",
        pool.worker_id,
        1,
    )
    assert committed["claim_expires_at"] is not None
    assert (dispatched.answer.status_code, dispatched.answer.body) == (200, "ok")
    await asyncio.wait_for(HangNode.entered.wait(), 5)  # nothing woke the pool: it was handed over


async def test_with_every_place_taken_new_executions_queue_and_run_in_order_after(
    dispatcher: Dispatcher, pool: WorkerPool, store: SqlStore, reader: SqlStore
) -> None:
    """The one place busy: the next two are committed `queued`, and the workers claim them once it frees."""
    hanging = await dispatcher.enqueue(await live(store, HANG), context({}))
    await asyncio.wait_for(HangNode.entered.wait(), 5)
    compiled = await live(store, RECORD)
    second = await dispatcher.enqueue(compiled, context({}))
    third = await dispatcher.enqueue(compiled, context({}))
    for queued in (second, third):
        assert (await row(reader, queued.execution.id))["status"] == "queued"
    assert pool.cancel(hanging.execution.id)
    for queued in (second, third):
        await wait_until(
            lambda e=queued.execution.id: _is(reader, e, ExecutionStatus.RESOLVED),
            "the queued execution was claimed and resolved",
            10,
        )
    # Caught up again (a claim found the queue empty): the next one skips the queue once more, so it
    # runs although nothing wakes the pool.
    await pool.drain()
    fourth = await dispatcher.enqueue(compiled, context({}))
    await wait_until(
        lambda: _is(reader, fourth.execution.id, ExecutionStatus.RESOLVED), "the fourth ran at once", 10
    )


async def test_a_workflow_that_limits_its_runs_at_once_is_always_queued(
    dispatcher: Dispatcher, pool: WorkerPool, store: SqlStore, reader: SqlStore
) -> None:
    """`options.concurrency`: the queue's claim counts what runs, so the execution is queued, then run."""
    compiled = await live(store, async_workflow(node("a", "unit-record"), options={"concurrency": 1}))
    dispatched = await dispatcher.enqueue(compiled, context({}))
    assert (await row(reader, dispatched.execution.id))["status"] == "queued"
    pool.wake()
    await wait_until(
        lambda: _is(reader, dispatched.execution.id, ExecutionStatus.RESOLVED), "the execution resolved", 10
    )


async def test_an_execution_committed_while_the_pool_stops_is_released_for_the_next_process(
    pool: WorkerPool, dispatcher: Dispatcher, store: SqlStore, reader: SqlStore
) -> None:
    """Claimed before the stop, committed during it: not run here, and `stop` frees its claim."""
    hanging = await dispatcher.enqueue(await live(store, HANG), context({}))
    await asyncio.wait_for(HangNode.entered.wait(), 5)
    assert pool.claim_new() is None  # the one place is taken
    pool.cancel(hanging.execution.id)
    await pool.drain()  # the place is free, and the queue empty again
    claim = pool.claim_new()
    assert claim is not None
    compiled = await live(store, RECORD)
    execution = make_execution(
        compiled.flow, status=ExecutionStatus.STARTED, created_at=claim.at, started_at=claim.at, attempt=1
    )
    stopping = asyncio.create_task(pool.stop(grace=0.2))
    await asyncio.sleep(0)  # the stop has begun: nothing is claimed or run from here on
    assert await store.add_limited_execution(execution, Limits(), claim=claim)
    pool.start_claimed(execution)
    await stopping
    committed = await row(reader, execution.id)
    assert (committed["status"], committed["claimed_by"], committed["claim_expires_at"]) == (
        "started",
        None,
        None,
    )
    assert await reader.list_jobs(execution.id) == []


async def _is(reader: SqlStore, execution_id: int, status: ExecutionStatus) -> bool:
    return await status_of(reader, execution_id) is status
