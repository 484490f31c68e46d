"""The dispatcher driven directly: sync runs, queued calls, idempotency keys and limits, on SQLite.

What a call is answered with is checked against what a second store over the same file reads back,
so "committed before answered" is seen from outside the dispatcher's own connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookline.engine.dispatcher import Dispatcher
from hookline.engine.flows import CompiledFlow, FlowCache
from hookline.errors import RejectedRequest
from hookline.exchange import flow_from_json
from hookline.models import Answer, Execution, ExecutionStatus
from hookline.store.sql_store import SqlStore, open_store
from hookline.trigger.dedupe import RequestKey
from tests._workflows import condition, node, respond, sync_workflow
from tests.unit._dispatching import async_workflow, context, live
from tests.unit._engine_nodes import HangNode, RecordNode, registered_fresh


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
