"""The processor driven directly: how it walks a workflow and what it records, over a real SQLite store.

Each execution is queued and claimed as a worker would; the processor records its jobs in the store
(the sink), and `finish` ends the execution as a worker does, so the tests read back what is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hookline.engine.flows import CompiledFlow
from hookline.engine.graph import Graph
from hookline.engine.processor import ATTEMPT, WAIT_REASON, Processor, RunResult
from hookline.exchange import flow_from_json
from hookline.models import Execution, ExecutionStatus, Flow, Job, JobStatus
from hookline.nodes.base import NodeContext, Outcome
from hookline.store.sql_store import SqlStore, open_store
from hookline.types import JsonObject
from tests._factories import make_execution
from tests._workflows import condition, node, sync_workflow
from tests.integration._node_types import registered
from tests.unit._engine_nodes import HangNode, RecordNode, RetryNode, registered_fresh

WORKER = "unit-worker"
"""The worker id the tests claim executions as."""


@pytest.fixture(autouse=True)
def test_nodes() -> Iterator[None]:
    """Register the test node types, with fresh notes, for one test."""
    with registered_fresh():
        yield


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A migrated store over an SQLite file of its own."""
    opened = await open_store(f"sqlite:///{tmp_path}/hookline.db")
    yield opened
    await opened.close()


def record(key: str, upstream: str | None = None, branch: int | None = None, value: Any = None) -> JsonObject:
    """A `unit-record` node in workflow JSON."""
    return node(key, "unit-record", upstream, branch, value=value)


async def claimed(
    store: SqlStore,
    *nodes: JsonObject,
    body: Any = None,
    options: JsonObject | None = None,
    sync: bool = True,
) -> tuple[Flow, Execution]:
    """Store a workflow of these nodes and one execution of it with this body, queued then claimed."""
    flow = flow_from_json({**sync_workflow(*nodes, options=options), "sync": sync})
    await store.add_flow(flow)
    now = datetime.now(UTC)
    context: JsonObject = {"headers": {}, "query": {}, "body": body}
    await store.add_execution(make_execution(flow, context=context, created_at=now))
    return flow, await claim(store)


async def claim(store: SqlStore) -> Execution:
    """Claim the one runnable execution, as a worker does."""
    [execution] = await store.claim_executions(WORKER, limit=1, lease_seconds=30.0, now=datetime.now(UTC))
    return execution


def processor(
    flow: Flow,
    execution: Execution,
    store: SqlStore,
    previous: Sequence[Job] = (),
    *,
    caller_waiting: bool = False,
) -> Processor:
    """A processor of this execution that records its jobs in the store, built as a worker builds one."""
    compiled = CompiledFlow(flow, Graph(flow.nodes))
    return Processor(
        flow.workflow,
        compiled.graph,
        execution.id,
        execution.context,
        store,
        previous_jobs=previous,
        caller_waiting=caller_waiting,
        timeout_ms=compiled.options.timeout_ms,
    )


async def finish(store: SqlStore, execution: Execution, result: RunResult) -> None:
    """End the execution as a worker does: its last jobs and its status in one transaction."""
    added, replaced = result.last_jobs()
    await store.finish_execution(
        execution.id,
        result.status,
        finished_at=datetime.now(UTC),
        error=result.error,
        jobs=added,
        updated_jobs=replaced,
    )


async def stored_jobs(store: SqlStore, execution_id: int) -> list[str]:
    """The stored jobs of an execution, as `node key:status`, in the order recorded."""
    return [f"{job.node_key}:{job.status.value}" for job in await store.list_jobs(execution_id)]


async def stored_status(store: SqlStore, execution_id: int) -> tuple[ExecutionStatus, str | None]:
    """The stored status and error of an execution."""
    execution = await store.get_execution(execution_id)
    assert execution is not None
    return execution.status, execution.error


async def test_a_chain_runs_in_order_and_records_one_job_per_node_with_its_result(store: SqlStore) -> None:
    """Each node runs once, in order, sees the results before it, and its job is in the store at once."""
    flow, execution = await claimed(
        store,
        record("a", value="{{$context.body.n}}"),
        record("b", "a", value="b after {{$jobsMapByNodeKey.a}}"),
        record("c", "b", value={"from": "{{$jobsMapByNodeKey.b}}"}),
        body={"n": 7},
    )
    result = await processor(flow, execution, store).run()
    assert (result.status, result.final_job, result.error) == (ExecutionStatus.RESOLVED, None, None)
    assert RecordNode.ran == ["a", "b", "c"]
    jobs = await store.list_jobs(execution.id)  # recorded by the sink before the run ended
    assert [(job.node_key, job.status, job.result) for job in jobs] == [
        ("a", JobStatus.RESOLVED, 7),
        ("b", JobStatus.RESOLVED, "b after 7"),
        ("c", JobStatus.RESOLVED, {"from": "b after 7"}),
    ]
    assert all(job.execution_id == execution.id and job.finished_at is not None for job in jobs)


@pytest.mark.parametrize(
    ("x", "holds", "branch", "taken"),
    [pytest.param(1, True, 1, "yes", id="true"), pytest.param(2, False, 0, "no", id="false")],
)
async def test_a_condition_runs_the_branch_it_chose_then_the_node_after_it(
    store: SqlStore, x: int, holds: bool, branch: int, taken: str
) -> None:
    """True runs branch 1, false branch 0; either way the chain goes on after the condition."""
    flow, execution = await claimed(
        store,
        condition("c", "{{$context.body.x}}", 1),
        record("yes", "c", 1),
        record("no", "c", 0),
        record("after", "c"),
        body={"x": x},
    )
    result = await processor(flow, execution, store).run()
    assert result.status is ExecutionStatus.RESOLVED
    assert RecordNode.ran == [taken, "after"]
    first, *_ = jobs = await store.list_jobs(execution.id)
    assert [job.node_key for job in jobs] == ["c", taken, "after"]
    assert (first.result, first.meta["branch"]) == (holds, branch)


async def test_reject_on_false_fails_the_execution_and_runs_no_branch(store: SqlStore) -> None:
    """A false condition with `rejectOnFalse` ends the execution `failed`; no branch, nothing after it."""
    rejecting = condition("c", "{{$context.body.x}}", 1)
    rejecting["config"]["rejectOnFalse"] = True
    flow, execution = await claimed(
        store, rejecting, record("yes", "c", 1), record("no", "c", 0), record("after", "c"), body={"x": 2}
    )
    result = await processor(flow, execution, store).run()
    assert (result.status, result.error) == (ExecutionStatus.FAILED, "node c ended with status failed")
    assert result.final_job is not None
    assert (result.final_job.node_key, result.final_job.result) == ("c", False)
    assert RecordNode.ran == []
    await finish(store, execution, result)
    assert await stored_jobs(store, execution.id) == ["c:failed"]
    assert await stored_status(store, execution.id) == (
        ExecutionStatus.FAILED,
        "node c ended with status failed",
    )


async def test_a_node_that_raises_ends_the_execution_as_an_error_and_later_nodes_do_not_run(
    store: SqlStore,
) -> None:
    """The exception becomes an `error` job, handed back (not sunk) to be stored with the final status."""
    flow, execution = await claimed(store, record("a"), node("boom", "unit-raise", "a"), record("c", "boom"))
    result = await processor(flow, execution, store).run()
    error = "node boom: RuntimeError: the third party said no"
    assert (result.status, result.error) == (ExecutionStatus.ERROR, error)
    assert RecordNode.ran == ["a", "boom"]
    assert result.final_job is not None
    assert result.final_job.result == {"message": "RuntimeError: the third party said no"}
    assert await stored_jobs(store, execution.id) == ["a:resolved"]  # the error job waits for `finish`
    await finish(store, execution, result)
    assert await stored_jobs(store, execution.id) == ["a:resolved", "boom:error"]
    assert await stored_status(store, execution.id) == (ExecutionStatus.ERROR, error)


@pytest.mark.parametrize(
    ("end_status", "status", "error"),
    [
        pytest.param("resolved", ExecutionStatus.RESOLVED, None, id="resolved"),
        pytest.param("failed", ExecutionStatus.FAILED, "node stop ended with status failed", id="failed"),
    ],
)
async def test_an_end_node_in_a_branch_ends_the_whole_execution_with_its_status(
    store: SqlStore, end_status: str, status: ExecutionStatus, error: str | None
) -> None:
    """An `end` node stops the execution, not only its branch: the node after the condition never runs."""
    flow, execution = await claimed(
        store,
        condition("c", "{{$context.body.x}}", 1),
        node("stop", "end", "c", 1, endStatus=end_status),
        record("after", "c"),
        body={"x": 1},
    )
    result = await processor(flow, execution, store).run()
    assert (result.status, result.error) == (status, error)
    assert result.final_job is not None
    assert (result.final_job.node_key, result.final_job.meta.get("ends")) == ("stop", True)
    assert RecordNode.ran == []
    await finish(store, execution, result)
    assert await stored_jobs(store, execution.id) == ["c:resolved", f"stop:{end_status}"]
    assert await stored_status(store, execution.id) == (status, error)


async def test_a_resumed_execution_replays_its_recorded_jobs_and_runs_only_the_rest(store: SqlStore) -> None:
    """After a crash mid-run, the next attempt follows the recorded jobs without rerunning them."""
    flow, execution = await claimed(
        store,
        condition("c", "{{$context.body.x}}", 1),
        record("yes", "c", 1),
        record("no", "c", 0),
        node("slow", "unit-hang", "c"),
        record("after", "slow"),
        body={"x": 1},
    )
    crashed = asyncio.create_task(processor(flow, execution, store).run())
    await asyncio.wait_for(HangNode.entered.wait(), 5.0)
    crashed.cancel()  # the process dies while `slow` runs
    with pytest.raises(asyncio.CancelledError):
        await crashed
    before = await store.list_jobs(execution.id)
    assert [job.node_key for job in before] == ["c", "yes"]
    HangNode.hangs = False
    resumed = processor(flow, execution, store, before)
    result = await resumed.run()
    assert result.status is ExecutionStatus.RESOLVED
    assert RecordNode.ran == ["yes", "slow", "slow", "after"]  # `slow` again: it had not finished
    assert [job.node_key for job in resumed.jobs] == ["slow", "after"]
    after = await store.list_jobs(execution.id)
    assert [(job.id, job.node_key) for job in after] == [
        *((job.id, job.node_key) for job in before),
        *((job.id, job.node_key) for job in resumed.jobs),
    ]


async def test_an_async_wait_suspends_and_the_resumed_node_keeps_its_job(store: SqlStore) -> None:
    """Outside a waiting caller, a wait stops the run `waiting`; resumed, the node updates its pending job."""
    flow, execution = await claimed(store, record("a"), node("call", "unit-retry", "a", waits=1), sync=False)
    first = await processor(flow, execution, store).run()
    assert first.status is ExecutionStatus.WAITING
    assert first.wait is not None
    pending = first.final_job
    assert pending is not None
    assert (pending.status, pending.result, pending.meta[WAIT_REASON]) == (
        JobStatus.PENDING,
        {"waited": 1},
        "retry",
    )
    suspended = await store.suspend_execution(
        execution.id, WORKER, run_after=first.wait.until, job=pending, job_exists=first.final_job_exists
    )
    assert suspended
    assert await stored_jobs(store, execution.id) == ["a:resolved", "call:pending"]
    again = await claim(store)
    result = await processor(flow, again, store, await store.list_jobs(execution.id)).run()
    assert result.status is ExecutionStatus.RESOLVED
    assert RecordNode.ran == ["a"]
    assert RetryNode.calls == [(1, pending.id, None), (2, pending.id, {"waited": 1})]
    [_, call] = await store.list_jobs(execution.id)
    assert (call.id, call.status, call.meta[ATTEMPT]) == (pending.id, JobStatus.RESOLVED, 2)


@pytest.mark.parametrize(("reason", "attempts"), [("retry", 3), ("delay", None)])
async def test_a_sync_run_waits_in_place_and_the_node_stays_one_job(
    store: SqlStore, reason: str, attempts: int | None
) -> None:
    """With a caller waiting, a wait is slept through: one job, one id; only a retry counts an attempt."""
    flow, execution = await claimed(
        store, node("call", "unit-retry", waits=2, seconds=0.01, reason=reason), options={"timeout": 5000}
    )
    ran = processor(flow, execution, store, caller_waiting=True)
    result = await ran.run()
    assert result.status is ExecutionStatus.RESOLVED
    [job] = ran.jobs
    first_attempts = [1, 2, 3] if reason == "retry" else [1, 1, 1]
    assert RetryNode.calls == [
        (first_attempts[0], job.id, None),
        (first_attempts[1], job.id, {"waited": 1}),
        (first_attempts[2], job.id, {"waited": 2}),
    ]
    assert (job.status, job.result, job.meta.get(ATTEMPT)) == (JobStatus.RESOLVED, {"calls": 3}, attempts)
    assert [stored.id for stored in await store.list_jobs(execution.id)] == [job.id]


async def test_a_sync_wait_beyond_the_timeout_aborts_the_run(store: SqlStore) -> None:
    """Waiting in place is bounded by the workflow's timeout: past it the run ends `aborted`."""
    flow, execution = await claimed(store, node("call", "unit-retry", seconds=30), options={"timeout": 50})
    ran = processor(flow, execution, store, caller_waiting=True)
    result = await asyncio.wait_for(ran.run(), 5.0)
    assert (result.status, result.error, result.timed_out) == (ExecutionStatus.ABORTED, "timeout", True)
    assert len(RetryNode.calls) == 1


async def test_a_node_running_past_the_workflow_timeout_aborts_the_execution(store: SqlStore) -> None:
    """The node is stopped at the timeout and leaves no job; the jobs before it stay; the run is `aborted`."""
    flow, execution = await claimed(
        store, record("a"), node("slow", "unit-hang", "a"), record("after", "slow"), options={"timeout": 50}
    )
    result = await asyncio.wait_for(processor(flow, execution, store).run(), 5.0)
    assert (result.status, result.error, result.timed_out, result.final_job) == (
        ExecutionStatus.ABORTED,
        "timeout",
        True,
        None,
    )
    assert RecordNode.ran == ["a", "slow"]
    await finish(store, execution, result)
    assert await stored_jobs(store, execution.id) == ["a:resolved"]
    assert await stored_status(store, execution.id) == (ExecutionStatus.ABORTED, "timeout")


class PeekNode(RecordNode):
    """Test node with outside effects: notes the jobs of its execution committed when it starts."""

    type: ClassVar[str] = "unit-peek"
    reader: ClassVar[SqlStore]
    seen: ClassVar[list[list[str]]] = []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Note the committed jobs, then resolve."""
        self.seen.append(await stored_jobs(self.reader, ctx.execution_id))
        return Outcome(JobStatus.RESOLVED, None)


async def test_nodes_without_effects_are_recorded_with_the_next_write_before_a_node_with_effects(
    store: SqlStore,
) -> None:
    """A condition's job is not written alone: it is committed together with what comes next, and always
    before a node with outside effects starts; the ones after the last such node come back with the result."""
    PeekNode.reader, PeekNode.seen = store, []
    with registered(PeekNode()):
        flow, execution = await claimed(
            store,
            condition("c", "{{$context.body.x}}", 1),
            node("peek", "unit-peek", "c"),
            condition("c2", "{{$context.body.x}}", 1, upstream="peek"),
            condition("c3", "{{$context.body.x}}", 1, upstream="c2"),
            body={"x": 1},
        )
        result = await processor(flow, execution, store).run()
    assert result.status is ExecutionStatus.RESOLVED
    assert PeekNode.seen == [["c:resolved"]]  # committed before the node with effects started
    assert await stored_jobs(store, execution.id) == ["c:resolved", "peek:resolved"]
    assert [job.node_key for job in result.unrecorded] == ["c2", "c3"]
    await finish(store, execution, result)
    assert await stored_jobs(store, execution.id) == [
        "c:resolved",
        "peek:resolved",
        "c2:resolved",
        "c3:resolved",
    ]


async def test_a_run_cut_short_by_its_timeout_still_returns_the_jobs_without_effects(store: SqlStore) -> None:
    """Timed out in a node with effects, after one without: that one's job was committed before it began."""
    flow, execution = await claimed(
        store,
        condition("c", "{{$context.body.x}}", 1),
        node("slow", "unit-hang", "c"),
        body={"x": 1},
        options={"timeout": 50},
    )
    result = await asyncio.wait_for(processor(flow, execution, store).run(), 5)
    assert (result.status, result.timed_out, result.unrecorded) == (ExecutionStatus.ABORTED, True, [])
    assert await stored_jobs(store, execution.id) == ["c:resolved"]
