"""The dispatcher driven directly: sync runs, queued calls, idempotency keys and limits, on SQLite,
and new executions handed to a free worker of a real pool, inserted already claimed.

What a call is answered with is checked against what a second store over the same file reads back,
so "committed before answered" (and the claim) is seen from outside the dispatcher's own connections.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from hookline.engine.dispatcher import Dispatcher
from hookline.engine.flows import CompiledFlow, FlowCache
from hookline.errors import RejectedRequest
from hookline.exchange import flow_from_json
from hookline.metrics import Metrics
from hookline.models import Answer, Execution, ExecutionStatus, Job, Limits, Node
from hookline.queue.worker import WorkerPool
from hookline.store.schema import executions
from hookline.store.sql_store import SqlStore, open_store
from hookline.trigger.dedupe import RequestKey
from hookline.types import JsonObject
from tests._factories import make_execution
from tests._waiting import wait_until
from tests._workflows import condition, node, respond, sync_workflow
from tests.integration._node_types import registered
from tests.unit._engine_nodes import HangNode, RecordNode, RetryNode, registered_fresh


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
    """The migrated store the dispatcher writes to."""
    opened = await open_store(database_url)
    yield opened
    await opened.close()


@pytest.fixture
async def reader(store: SqlStore, database_url: str) -> AsyncIterator[SqlStore]:
    """Another store over the same file, with its own connections: it sees only what was committed."""
    opened = await open_store(database_url, migrate=False)
    yield opened
    await opened.close()


class Wakes:
    """Counts the dispatcher's calls to wake the local workers."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def wakes() -> Wakes:
    """A fresh count of wake-ups."""
    return Wakes()


@pytest.fixture
def dispatcher(store: SqlStore, wakes: Wakes) -> Dispatcher:
    """A dispatcher over the store, whose `429`s say `Retry-After: 5`."""
    return Dispatcher(store, wake=wakes, retry_after=5)


def async_workflow(
    *nodes: JsonObject, config: JsonObject | None = None, options: JsonObject | None = None
) -> JsonObject:
    """An asynchronous webhook workflow made of these nodes, with this trigger config."""
    return {**sync_workflow(*nodes, options=options), "sync": False, "config": config or {}}


async def live(store: SqlStore, workflow: JsonObject) -> CompiledFlow:
    """Store the workflow and give its live compiled version, as the webhook route gets it."""
    flow = flow_from_json(workflow)
    await store.add_flow(flow)
    compiled = await FlowCache(store).live(flow.workflow.key)
    assert compiled is not None
    return compiled


def context(body: Any, headers: JsonObject | None = None) -> JsonObject:
    """A trigger context with this body (and headers)."""
    return {"headers": headers or {}, "query": {}, "body": body}


def request_key(compiled: CompiledFlow, value: str) -> RequestKey:
    """The idempotency key a request whose `idempotency-key` header is `value` has."""
    assert compiled.options.dedupe is not None
    key = compiled.options.dedupe.key(compiled.flow.workflow.key, context({}, {"idempotency-key": value}))
    assert key is not None
    return key


async def read_back(reader: SqlStore, execution_id: int) -> tuple[Execution, list[str]]:
    """An execution as committed, with its jobs as `node key:status`."""
    execution = await reader.get_execution(execution_id)
    assert execution is not None
    return execution, [f"{job.node_key}:{job.status.value}" for job in await reader.list_jobs(execution_id)]


DEDUPE = {"dedupe": {"source": "headers.idempotency-key", "window": 60}}
"""Workflow options that take the idempotency key from the `Idempotency-Key` header."""


async def test_a_sync_run_is_committed_with_its_jobs_and_answered_by_its_response_node(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore
) -> None:
    """When `run_sync` returns, the execution and its jobs are committed, with the Response node's answer."""
    compiled = await live(
        store,
        sync_workflow(
            condition("c", "{{$context.body.x}}", 1),
            respond("ok", "c", 1, status=201, body={"order": "{{$context.body.id}}"}),
        ),
    )
    dispatched = await dispatcher.run_sync(compiled, context({"x": 1, "id": 7}))
    assert (dispatched.answer.status_code, dispatched.answer.body) == (201, {"order": 7})
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert jobs == ["c:resolved", "ok:resolved"]
    assert (execution.status, execution.attempt, execution.error) == (ExecutionStatus.RESOLVED, 1, None)
    assert execution.response == dispatched.answer.to_json()
    assert execution.finished_at is not None
    assert execution.context == context({"x": 1, "id": 7})


async def test_a_sync_run_without_a_response_node_answers_with_its_status(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore
) -> None:
    """No Response node reached: `200` naming the status and the execution."""
    compiled = await live(store, sync_workflow(node("a", "unit-record", value=1)))
    dispatched = await dispatcher.run_sync(compiled, context({}))
    execution_id = dispatched.execution.id
    assert dispatched.answer == Answer(200, (), {"status": "resolved", "execution": str(execution_id)})
    execution, jobs = await read_back(reader, execution_id)
    assert (execution.status, jobs) == (ExecutionStatus.RESOLVED, ["a:resolved"])


async def test_a_failed_sync_run_is_recorded_failed_and_answered_500(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore
) -> None:
    """A failing node: its job and the error are stored, and the caller gets `500 execution_failed`."""
    rejecting = condition("c", "{{$context.body.x}}", 1)
    rejecting["config"]["rejectOnFalse"] = True
    compiled = await live(store, sync_workflow(rejecting, respond("ok", "c", 1)))
    dispatched = await dispatcher.run_sync(compiled, context({"x": 2}))
    assert dispatched.answer.status_code == 500
    assert isinstance(dispatched.answer.body, dict)
    assert dispatched.answer.body["error"] == {
        "code": "execution_failed",
        "message": "The workflow ended with status failed.",
    }
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, execution.error, jobs) == (
        ExecutionStatus.FAILED,
        "node c ended with status failed",
        ["c:failed"],
    )


async def test_a_sync_run_past_its_timeout_is_recorded_aborted_and_answered_408(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore
) -> None:
    """Past the timeout: `408 timeout`; the execution is stored `aborted` with the jobs that finished."""
    compiled = await live(
        store,
        sync_workflow(
            node("a", "unit-record"),
            node("slow", "unit-hang", "a"),
            respond("ok", "slow"),
            options={"timeout": 50},
        ),
    )
    dispatched = await asyncio.wait_for(dispatcher.run_sync(compiled, context({})), 5.0)
    assert dispatched.answer.status_code == 408
    assert isinstance(dispatched.answer.body, dict)
    assert dispatched.answer.body["error"] == {
        "code": "timeout",
        "message": "The workflow did not finish within 50 ms.",
    }
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, execution.error, jobs) == (ExecutionStatus.ABORTED, "timeout", ["a:resolved"])


async def test_a_response_that_continues_is_recorded_queued_before_its_answer(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore, wakes: Wakes
) -> None:
    """`continue: true` answers early: the execution is committed `queued` with its jobs so far."""
    early = node("ok", "response", statusCode=202, body="accepted")
    early["config"]["continue"] = True
    compiled = await live(store, sync_workflow(early, node("later", "unit-record", "ok")))
    dispatched = await dispatcher.run_sync(compiled, context({}))
    assert (dispatched.answer.status_code, dispatched.answer.body) == (202, "accepted")
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, execution.attempt, jobs) == (ExecutionStatus.QUEUED, 0, ["ok:resolved"])
    assert execution.response == dispatched.answer.to_json()
    assert RecordNode.ran == []  # the rest is the workers' to run
    assert wakes.count == 1


async def test_an_async_call_is_queued_and_answered_with_the_trigger_answer(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore, wakes: Wakes
) -> None:
    """`enqueue` commits a `queued` execution holding the trigger's rendered answer, and runs nothing."""
    answer_config = {
        "statusCode": 202,
        "headers": [{"name": "X-Order", "value": "{{$context.body.id}}"}],
        "body": {"accepted": "{{$context.body.id}}"},
    }
    compiled = await live(store, async_workflow(node("a", "unit-record"), config={"response": answer_config}))
    dispatched = await dispatcher.enqueue(compiled, context({"id": 7}))
    assert dispatched.answer == Answer(202, (("X-Order", "7"),), {"accepted": 7})
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, execution.attempt, jobs) == (ExecutionStatus.QUEUED, 0, [])
    assert execution.response == dispatched.answer.to_json()
    assert RecordNode.ran == []
    assert wakes.count == 1


async def test_an_async_answer_that_cannot_be_sent_is_refused_and_nothing_is_queued(
    dispatcher: Dispatcher, store: SqlStore, wakes: Wakes
) -> None:
    """A rendered answer HTTP cannot carry is `500 answer_invalid` before the insert: nothing is recorded."""
    answer_config = {"statusCode": 202, "headers": [{"name": "X-Note", "value": "{{$context.body.note}}"}]}
    compiled = await live(store, async_workflow(node("a", "unit-record"), config={"response": answer_config}))
    with pytest.raises(RejectedRequest) as refused:
        await dispatcher.enqueue(compiled, context({"note": "two\nlines"}))
    assert (refused.value.status, refused.value.code) == (500, "answer_invalid")
    assert await store.count_executions(compiled.flow.workflow.id) == 0
    assert wakes.count == 0


async def test_a_repeated_idempotency_key_gets_the_first_sync_answer_and_runs_nothing(
    dispatcher: Dispatcher, store: SqlStore
) -> None:
    """The second call with a key repeats the first execution's answer and id; the workflow ran once."""
    compiled = await live(
        store,
        sync_workflow(
            node("a", "unit-record"),
            respond("ok", "a", status=201, body="{{$context.body.n}}"),
            options=DEDUPE,
        ),
    )
    key = request_key(compiled, "order-1")
    first = await dispatcher.dispatch_once(compiled, context({"n": "first"}), key)
    repeat = await dispatcher.dispatch_once(compiled, context({"n": "second"}), key)
    assert (first.duplicate, repeat.duplicate) == (False, True)
    assert repeat.execution_id == first.execution_id
    assert (repeat.answer, first.answer) == (Answer(201, (), "first"), Answer(201, (), "first"))
    assert RecordNode.ran == ["a"]
    assert await store.count_executions(compiled.flow.workflow.id) == 1


async def test_a_repeated_idempotency_key_gets_the_first_async_answer_and_queues_nothing(
    dispatcher: Dispatcher, store: SqlStore, wakes: Wakes
) -> None:
    """A duplicate of a queued call gets the answer it was given, with its execution id; one row is queued."""
    answer_config = {"statusCode": 202, "body": {"n": "{{$context.body.n}}"}}
    compiled = await live(
        store, async_workflow(node("a", "unit-record"), config={"response": answer_config}, options=DEDUPE)
    )
    key = request_key(compiled, "order-1")
    first = await dispatcher.dispatch_once(compiled, context({"n": 1}), key)
    repeat = await dispatcher.dispatch_once(compiled, context({"n": 2}), key)
    assert (first.duplicate, repeat.duplicate, repeat.execution_id) == (False, True, first.execution_id)
    assert repeat.answer == first.answer == Answer(202, (), {"n": 1})
    assert await store.count_executions(compiled.flow.workflow.id) == 1
    assert wakes.count == 1


async def test_another_idempotency_key_runs_again(dispatcher: Dispatcher, store: SqlStore) -> None:
    """Two different keys are two executions, each with its own answer."""
    compiled = await live(
        store,
        sync_workflow(
            node("a", "unit-record"), respond("ok", "a", body="{{$context.body.n}}"), options=DEDUPE
        ),
    )
    first = await dispatcher.dispatch_once(compiled, context({"n": "one"}), request_key(compiled, "order-1"))
    other = await dispatcher.dispatch_once(compiled, context({"n": "two"}), request_key(compiled, "order-2"))
    assert (other.duplicate, other.answer.body) == (False, "two")
    assert other.execution_id != first.execution_id
    assert RecordNode.ran == ["a", "a"]


async def test_queue_limit_refuses_with_429_queue_full_and_records_nothing(
    dispatcher: Dispatcher, store: SqlStore, wakes: Wakes
) -> None:
    """With `queueLimit: 1` and one call queued, the next is `429 queue_full` (`Retry-After`), not stored."""
    compiled = await live(store, async_workflow(node("a", "unit-record"), options={"queueLimit": 1}))
    await dispatcher.enqueue(compiled, context({}))
    with pytest.raises(RejectedRequest) as refused:
        await dispatcher.enqueue(compiled, context({}))
    assert (refused.value.status, refused.value.code) == (429, "queue_full")
    assert (
        refused.value.message == "This workflow already has 1 requests waiting, its limit; try again later."
    )
    assert refused.value.headers == {"Retry-After": "5"}
    assert await store.count_executions(compiled.flow.workflow.id) == 1
    assert wakes.count == 1


async def test_queue_limit_counts_only_executions_not_yet_started(
    dispatcher: Dispatcher, store: SqlStore
) -> None:
    """Once a worker claims the queued execution, its place is free for the next call."""
    compiled = await live(store, async_workflow(node("a", "unit-record"), options={"queueLimit": 1}))
    first = await dispatcher.enqueue(compiled, context({}))
    [claimed] = await store.claim_executions(
        "unit-worker", limit=1, lease_seconds=30.0, now=datetime.now(UTC)
    )
    assert claimed.id == first.execution.id
    second = await dispatcher.enqueue(compiled, context({}))
    assert second.execution.status is ExecutionStatus.QUEUED
    assert await store.count_executions(compiled.flow.workflow.id) == 2


async def test_a_duplicate_is_answered_even_when_the_queue_is_full(
    dispatcher: Dispatcher, store: SqlStore
) -> None:
    """At the queue limit, a repeated key still gets its original's answer; a new key is refused `429`."""
    compiled = await live(
        store, async_workflow(node("a", "unit-record"), options={"queueLimit": 1, **DEDUPE})
    )
    first = await dispatcher.dispatch_once(compiled, context({}), request_key(compiled, "order-1"))
    repeat = await dispatcher.dispatch_once(compiled, context({}), request_key(compiled, "order-1"))
    assert (repeat.duplicate, repeat.execution_id) == (True, first.execution_id)
    with pytest.raises(RejectedRequest) as refused:
        await dispatcher.dispatch_once(compiled, context({}), request_key(compiled, "order-2"))
    assert (refused.value.status, refused.value.code) == (429, "queue_full")
    assert await store.count_executions(compiled.flow.workflow.id) == 1


async def test_sync_concurrency_refuses_a_run_beyond_the_limit(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore
) -> None:
    """With `concurrency: 1` and one run going on, another is `429 concurrency_limit` and runs nothing."""
    compiled = await live(
        store, sync_workflow(node("slow", "unit-hang"), respond("ok", "slow"), options={"concurrency": 1})
    )
    running = asyncio.create_task(dispatcher.run_sync(compiled, context({})))
    await asyncio.wait_for(HangNode.entered.wait(), 5.0)
    with pytest.raises(RejectedRequest) as refused:
        await dispatcher.run_sync(compiled, context({}))
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert (refused.value.status, refused.value.code, refused.value.headers) == (
        429,
        "concurrency_limit",
        {"Retry-After": "5"},
    )
    assert RecordNode.ran == ["slow"]
    assert await reader.count_executions(compiled.flow.workflow.id) == 0


async def test_a_disabled_or_unknown_workflow_has_no_live_version_to_dispatch(store: SqlStore) -> None:
    """The dispatcher takes a live `CompiledFlow`: a disabled version or an unknown key has none (a 404)."""
    disabled = flow_from_json({**sync_workflow(node("a", "unit-record")), "enabled": False})
    await store.add_flow(disabled)
    flows = FlowCache(store)
    assert await flows.live(disabled.workflow.key) is None
    assert await flows.live("no-such-key") is None
    current = await flows.current(disabled.workflow.key)  # it exists: only its being disabled hides it
    assert current is not None
    assert current.flow.workflow.id == disabled.workflow.id


# -- a new execution that a free worker takes at once: inserted claimed, handed over once committed --


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
def starting(store: SqlStore, pool: WorkerPool) -> Dispatcher:
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
    starting: Dispatcher, pool: WorkerPool, store: SqlStore, reader: SqlStore
) -> None:
    """When `enqueue` returns, the row is `started` under the pool's claim (attempt 1), and its node runs."""
    dispatched = await starting.enqueue(await live(store, HANG), context({}))
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
    starting: Dispatcher, pool: WorkerPool, store: SqlStore, reader: SqlStore
) -> None:
    """The one place busy: the next two are committed `queued`, and the workers claim them once it frees."""
    hanging = await starting.enqueue(await live(store, HANG), context({}))
    await asyncio.wait_for(HangNode.entered.wait(), 5)
    compiled = await live(store, RECORD)
    second = await starting.enqueue(compiled, context({}))
    third = await starting.enqueue(compiled, context({}))
    for queued in (second, third):
        assert (await row(reader, queued.execution.id))["status"] == "queued"
    assert pool.cancel(hanging.execution.id)
    for queued in (second, third):
        await wait_until(
            functools.partial(_is, reader, queued.execution.id, ExecutionStatus.RESOLVED),
            "the queued execution was claimed and resolved",
            10,
        )
    # Caught up again (a claim found the queue empty): the next one skips the queue once more, so it
    # runs although nothing wakes the pool.
    await pool.drain()
    fourth = await starting.enqueue(compiled, context({}))
    await wait_until(
        lambda: _is(reader, fourth.execution.id, ExecutionStatus.RESOLVED), "the fourth ran at once", 10
    )


async def test_a_workflow_that_limits_its_runs_at_once_is_always_queued(
    starting: Dispatcher, pool: WorkerPool, store: SqlStore, reader: SqlStore
) -> None:
    """`options.concurrency`: the queue's claim counts what runs, so the execution is queued, then run."""
    compiled = await live(store, async_workflow(node("a", "unit-record"), options={"concurrency": 1}))
    dispatched = await starting.enqueue(compiled, context({}))
    assert (await row(reader, dispatched.execution.id))["status"] == "queued"
    pool.wake()
    await wait_until(
        lambda: _is(reader, dispatched.execution.id, ExecutionStatus.RESOLVED), "the execution resolved", 10
    )


async def test_an_execution_committed_while_the_pool_stops_is_released_for_the_next_process(
    pool: WorkerPool, starting: Dispatcher, store: SqlStore, reader: SqlStore
) -> None:
    """Claimed before the stop, committed during it: not run here, and `stop` frees its claim."""
    hanging = await starting.enqueue(await live(store, HANG), context({}))
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


# With `run_before_answer` (HOOKLINE_RUN_BEFORE_ANSWER): a workflow without outside effects runs before
# its answer and is recorded finished in the write that accepts it.


class PureRecordNode(RecordNode):
    """Test node: a record node that declares no outside effects."""

    type: ClassVar[str] = "unit-pure-record"
    outside_effects: ClassVar[bool] = False


class PureRetryNode(RetryNode):
    """Test node: a node without outside effects that asks to be called again."""

    type: ClassVar[str] = "unit-pure-retry"
    outside_effects: ClassVar[bool] = False


class FailingObserver(Metrics):
    """Metrics whose per-job hook raises: the engine itself fails in the middle of a run."""

    def job_finished(self, node: Node, job: Job) -> None:
        """Fail as an engine bug would."""
        raise RuntimeError("a bug in the engine")


@pytest.fixture
def pure_nodes() -> Iterator[None]:
    """Register the test node types without outside effects for one test."""
    with registered(PureRecordNode(), PureRetryNode()):
        yield


@pytest.fixture
def runs_first(store: SqlStore, wakes: Wakes) -> Dispatcher:
    """A dispatcher that runs workflows without outside effects before their answer."""
    return Dispatcher(store, wake=wakes, run_before_answer=True)


ANSWER_CONFIG = {"response": {"statusCode": 202, "body": {"accepted": "{{$context.body.id}}"}}}
"""A trigger answer that shows the context it was rendered from."""


async def test_run_before_answer_commits_an_effect_free_run_finished_with_its_jobs_in_one_write(
    runs_first: Dispatcher, store: SqlStore, reader: SqlStore, wakes: Wakes, pure_nodes: None
) -> None:
    """The trigger's answer comes once the run is committed resolved with its jobs: no queue, no wake-up."""
    workflow = async_workflow(
        condition("c", "{{$context.body.x}}", 1),
        node("after", "unit-pure-record", "c", 1, value="{{$context.body.id}}"),
        config=ANSWER_CONFIG,
    )
    compiled = await live(store, workflow)
    assert compiled.effect_free
    dispatched = await runs_first.enqueue(compiled, context({"x": 1, "id": 7}), may_run_now=True)
    assert (dispatched.answer.status_code, dispatched.answer.body) == (202, {"accepted": 7})
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, execution.attempt, jobs) == (
        ExecutionStatus.RESOLVED,
        1,
        ["c:resolved", "after:resolved"],
    )
    assert execution.response == dispatched.answer.to_json()
    assert execution.started_at is not None
    assert execution.finished_at is not None
    assert RecordNode.ran == ["after"]
    assert wakes.count == 0


async def test_run_before_answer_records_a_failed_run_with_its_status_and_still_answers(
    runs_first: Dispatcher, store: SqlStore, reader: SqlStore, pure_nodes: None
) -> None:
    """A run that ends otherwise than resolved is recorded so; the caller still gets the trigger's answer."""
    rejecting = condition("c", "{{$context.body.x}}", 1)
    rejecting["config"] = {**rejecting["config"], "rejectOnFalse": True}
    compiled = await live(store, async_workflow(rejecting, config=ANSWER_CONFIG))
    dispatched = await runs_first.enqueue(compiled, context({"x": 2, "id": 8}), may_run_now=True)
    assert dispatched.answer.body == {"accepted": 8}
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, jobs) == (ExecutionStatus.FAILED, ["c:failed"])


@pytest.mark.parametrize(
    ("nodes", "options", "may_run_now"),
    [
        pytest.param([node("a", "unit-record")], None, True, id="a node with outside effects"),
        pytest.param([node("a", "unit-pure-record")], {"concurrency": 2}, True, id="a concurrency limit"),
        pytest.param([node("a", "unit-pure-record")], None, False, id="not a webhook call"),
    ],
)
async def test_run_before_answer_queues_what_it_may_not_run(
    runs_first: Dispatcher,
    store: SqlStore,
    reader: SqlStore,
    wakes: Wakes,
    pure_nodes: None,
    nodes: list[JsonObject],
    options: JsonObject | None,
    may_run_now: bool,
) -> None:
    """Outside effects, a concurrency limit, or a caller other than a webhook call: queued, nothing run."""
    compiled = await live(store, async_workflow(*nodes, config=ANSWER_CONFIG, options=options))
    dispatched = await runs_first.enqueue(compiled, context({"id": 9}), may_run_now=may_run_now)
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, execution.attempt, jobs) == (ExecutionStatus.QUEUED, 0, [])
    assert RecordNode.ran == []
    assert wakes.count == 1


async def test_without_run_before_answer_an_effect_free_workflow_is_queued(
    dispatcher: Dispatcher, store: SqlStore, reader: SqlStore, pure_nodes: None
) -> None:
    """The setting is off by default: the webhook call is queued for the workers, as always."""
    compiled = await live(store, async_workflow(node("a", "unit-pure-record"), config=ANSWER_CONFIG))
    dispatched = await dispatcher.enqueue(compiled, context({"id": 10}), may_run_now=True)
    execution, _ = await read_back(reader, dispatched.execution.id)
    assert execution.status is ExecutionStatus.QUEUED
    assert RecordNode.ran == []


async def test_run_before_answer_queues_a_run_that_waits_with_none_of_its_jobs(
    runs_first: Dispatcher, store: SqlStore, reader: SqlStore, pure_nodes: None
) -> None:
    """A run that would wait is not recorded from here: it is queued from its start, for a worker."""
    workflow = async_workflow(
        node("first", "unit-pure-record"),
        node("later", "unit-pure-retry", "first", seconds=60),
        config=ANSWER_CONFIG,
    )
    compiled = await live(store, workflow)
    dispatched = await runs_first.enqueue(compiled, context({"id": 11}), may_run_now=True)
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, execution.attempt, jobs) == (ExecutionStatus.QUEUED, 0, [])
    assert dispatched.answer.body == {"accepted": 11}
    assert RecordNode.ran == ["first"]  # ran here once; the worker runs it again, which changes nothing


async def test_run_before_answer_queues_a_run_the_engine_failed(
    store: SqlStore, reader: SqlStore, pure_nodes: None
) -> None:
    """An engine failure in the run does not lose the event: it is queued, and the answer is the trigger's."""
    failing = Dispatcher(store, metrics=FailingObserver(), run_before_answer=True)
    compiled = await live(store, async_workflow(node("a", "unit-pure-record"), config=ANSWER_CONFIG))
    dispatched = await failing.enqueue(compiled, context({"id": 12}), may_run_now=True)
    execution, jobs = await read_back(reader, dispatched.execution.id)
    assert (execution.status, jobs) == (ExecutionStatus.QUEUED, [])
    assert dispatched.answer.body == {"accepted": 12}


async def test_run_before_answer_records_a_keyed_run_finished_with_its_key_and_repeats_it(
    runs_first: Dispatcher, store: SqlStore, reader: SqlStore, wakes: Wakes, pure_nodes: None
) -> None:
    """With an idempotency key the run is committed finished together with the key's claim; a duplicate
    gets the first answer, and its own run is dropped: one execution, one set of jobs."""
    pure = node("a", "unit-pure-record", value="{{$context.body.id}}")
    compiled = await live(store, async_workflow(pure, config=ANSWER_CONFIG, options=DEDUPE))
    key = request_key(compiled, "order-1")
    first = await runs_first.dispatch_once(compiled, context({"id": 13}), key, may_run_now=True)
    repeat = await runs_first.dispatch_once(compiled, context({"id": 14}), key, may_run_now=True)
    assert (first.duplicate, repeat.duplicate, repeat.execution_id) == (False, True, first.execution_id)
    assert repeat.answer == first.answer == Answer(202, (), {"accepted": 13})
    execution, jobs = await read_back(reader, first.execution_id)
    assert (execution.status, execution.event_key, jobs) == (
        ExecutionStatus.RESOLVED,
        key.event_key(first.execution_id),
        ["a:resolved"],
    )
    assert await reader.count_executions(compiled.flow.workflow.id) == 1
    holder = await reader.get_dedupe_holder(key.digest, now=datetime.now(UTC))
    assert holder is not None
    assert (holder.execution_id, holder.response) == (first.execution_id, first.answer.to_json())
    assert wakes.count == 0


async def test_run_before_answer_keeps_a_key_held_by_a_queued_execution(
    runs_first: Dispatcher, dispatcher: Dispatcher, store: SqlStore, reader: SqlStore, pure_nodes: None
) -> None:
    """A key an execution queued earlier holds (a process without the setting took it) answers the
    run made here with that execution's answer, and records nothing of it."""
    pure = node("a", "unit-pure-record", value="{{$context.body.id}}")
    compiled = await live(store, async_workflow(pure, config=ANSWER_CONFIG, options=DEDUPE))
    key = request_key(compiled, "order-2")
    queued = await dispatcher.dispatch_once(compiled, context({"id": 15}), key)
    repeat = await runs_first.dispatch_once(compiled, context({"id": 16}), key, may_run_now=True)
    assert (repeat.duplicate, repeat.execution_id, repeat.answer.body) == (
        True,
        queued.execution_id,
        {"accepted": 15},
    )
    assert RecordNode.ran == ["a"]  # the duplicate's run, dropped
    execution, jobs = await read_back(reader, queued.execution_id)
    assert (execution.status, jobs) == (ExecutionStatus.QUEUED, [])
    assert await reader.count_executions(compiled.flow.workflow.id) == 1


async def test_run_before_answer_queues_a_keyed_call_it_may_not_run(
    runs_first: Dispatcher, store: SqlStore, reader: SqlStore, wakes: Wakes, pure_nodes: None
) -> None:
    """A keyed call that is not a webhook call (or may not run here) is queued under its key, as before."""
    compiled = await live(
        store, async_workflow(node("a", "unit-pure-record"), config=ANSWER_CONFIG, options=DEDUPE)
    )
    answered = await runs_first.dispatch_once(compiled, context({"id": 17}), request_key(compiled, "order-3"))
    execution, jobs = await read_back(reader, answered.execution_id)
    assert (execution.status, jobs) == (ExecutionStatus.QUEUED, [])
    assert RecordNode.ran == []
    assert wakes.count == 1
