"""Asynchronous executions: queued durably, run by workers, resumed after an interruption."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from hookline.engine.flows import FlowCache
from hookline.errors import ConfigError, StorageUnavailable
from hookline.ids import new_id
from hookline.models import Execution, ExecutionStatus, Job, JobStatus
from hookline.nodes.base import NodeContext, Outcome
from hookline.queue.worker import WorkerPool
from hookline.settings import Settings
from hookline.store.execution_history import ExecutionFilter
from hookline.store.schema import executions
from hookline.store.sql_store import open_store
from hookline.types import JsonObject
from tests._workflows import chain
from tests.integration._node_types import CountNode, registered
from tests.integration.conftest import Server


class HoldNode(CountNode):
    """Test node: waits until released, counting how many runs wait at once and noting a cancel."""

    type: ClassVar[str] = "test-hold"
    waiting: ClassVar[int] = 0
    most_waiting: ClassVar[int] = 0
    release: ClassVar[asyncio.Event]
    entered: ClassVar[asyncio.Event]
    stopped: ClassVar[asyncio.Event]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        cls = type(self)
        cls.waiting += 1
        cls.most_waiting = max(cls.most_waiting, cls.waiting)
        cls.entered.set()
        if cls.waiting >= 4:
            cls.release.set()
        try:
            await cls.release.wait()
        except asyncio.CancelledError:
            cls.stopped.set()
            raise
        cls.waiting -= 1
        return Outcome(JobStatus.RESOLVED, None)


@pytest.fixture(autouse=True)
def count_nodes() -> Iterator[None]:
    """Register the counting node types, with fresh counters, for one test."""
    CountNode.runs = {}
    HoldNode.waiting = HoldNode.most_waiting = 0
    HoldNode.release = asyncio.Event()
    HoldNode.entered = asyncio.Event()
    HoldNode.stopped = asyncio.Event()
    with registered(CountNode(), HoldNode()):
        yield


async def test_accepted_request_is_committed_before_the_answer(make_server: Any) -> None:
    """When the answer arrives, the execution is already stored as queued with its context."""
    async with make_server(workers=0) as server:  # no workers: it stays queued
        key = await server.load(chain("test-count"))
        response = await server.post(key, json={"n": 1}, params={"a[0][b]": "1"})
        assert response.status_code == 200
        execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.status == "queued"
    assert execution.context["body"] == {"n": 1}
    assert execution.context["query"] == {"a": [{"b": "1"}]}


EQUALS_ONE: JsonObject = {
    "rejectOnFalse": False,
    "engine": "basic",
    "calculation": {"calculator": "equal", "operands": ["{{$context.body.n}}", 1]},
}
"""A condition node's config: is the body's `n` 1? A node without outside effects."""


async def test_run_before_answer_answers_an_effect_free_workflow_already_resolved(make_server: Any) -> None:
    """With HOOKLINE_RUN_BEFORE_ANSWER and no worker at all, the webhook's answer finds its run finished."""
    async with make_server(workers=0, run_before_answer=True) as server:
        key = await server.load(chain(("condition", EQUALS_ONE), ("condition", EQUALS_ONE)))
        response = await server.post(key, json={"n": 1})
        assert (response.status_code, response.text) == (200, "ok")
        execution_id = int(response.headers["x-hookline-execution"])
        execution = await server.runtime.store.get_execution(execution_id)
        jobs = await server.runtime.store.list_jobs(execution_id)
    assert execution is not None
    assert (execution.status, execution.context["body"]) == ("resolved", {"n": 1})
    assert [(job.node_key, job.status.value) for job in jobs] == [("n0", "resolved"), ("n1", "resolved")]


async def test_run_before_answer_answers_a_repeated_idempotency_key_with_the_first_run(
    make_server: Any,
) -> None:
    """A call with an idempotency key also runs before its answer; its repeat gets the same execution."""
    workflow = chain(("condition", EQUALS_ONE))
    workflow["options"] = {"dedupe": {"source": "headers.idempotency-key", "window": 60}}
    async with make_server(workers=0, run_before_answer=True) as server:
        key = await server.load(workflow)
        first = await server.post(key, json={"n": 1}, headers={"Idempotency-Key": "order-7"})
        repeat = await server.post(key, json={"n": 2}, headers={"Idempotency-Key": "order-7"})
        execution_id = int(first.headers["x-hookline-execution"])
        execution = await server.runtime.store.get_execution(execution_id)
        listed = await server.runtime.store.list_executions(ExecutionFilter(workflow_key=key, limit=10))
    assert (first.status_code, repeat.status_code) == (200, 200)
    assert int(repeat.headers["x-hookline-execution"]) == execution_id
    assert execution is not None
    assert (execution.status, execution.context["body"]) == ("resolved", {"n": 1})
    assert [e.id for e in listed] == [execution_id]


async def test_run_before_answer_still_queues_a_workflow_with_outside_effects(make_server: Any) -> None:
    """A node that may change something outside (here a test node, as `request` is) keeps the queue."""
    async with make_server(workers=0, run_before_answer=True) as server:
        key = await server.load(chain(("condition", EQUALS_ONE), "test-count"))
        response = await server.post(key, json={"n": 1})
        assert response.status_code == 200
        execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.status == "queued"


def test_run_before_answer_is_off_unless_set() -> None:
    """HOOKLINE_RUN_BEFORE_ANSWER is a yes/no setting, off by default."""
    assert Settings.from_env({}).run_before_answer is False
    assert Settings.from_env({"HOOKLINE_RUN_BEFORE_ANSWER": "true"}).run_before_answer is True
    with pytest.raises(ConfigError, match="HOOKLINE_RUN_BEFORE_ANSWER"):
        Settings.from_env({"HOOKLINE_RUN_BEFORE_ANSWER": "sometimes"})


async def test_queued_executions_run_to_resolved(server: Server) -> None:
    """Each accepted request runs once, every node once, and ends resolved."""
    key = await server.load(chain("test-count", "test-count"))
    responses = await asyncio.gather(*(server.post(key, json={"n": i}) for i in range(20)))
    assert {r.status_code for r in responses} == {200}
    await server.runtime.workers.drain()
    executions = await server.runtime.store.list_executions(ExecutionFilter(limit=100))
    assert len(executions) == 20
    assert {e.status for e in executions} == {ExecutionStatus.RESOLVED}
    assert CountNode.runs == {"n0": 20, "n1": 20}


async def test_workers_run_executions_concurrently(server: Server) -> None:
    """Several executions of one workflow run at the same time, not one after another."""
    key = await server.load(chain("test-hold"))
    for i in range(4):
        assert (await server.post(key, json={"n": i})).status_code == 200
    await asyncio.wait_for(server.runtime.workers.drain(), timeout=10)
    assert HoldNode.most_waiting == 4


async def test_interrupted_execution_resumes_after_its_last_finished_job(make_server: Any) -> None:
    """An execution cut off after its first node resumes at the second; the first never reruns."""
    async with make_server(workers=0) as server:
        key = await server.load(chain("test-count", "test-count", "test-count"))
        flow = await server.runtime.store.get_live_flow(key)
        assert flow is not None
        first = next(n for n in flow.nodes if n.key == "n0")
        now = datetime.now(UTC)
        execution = Execution(
            id=new_id(),
            workflow_id=flow.workflow.id,
            key=key,
            event_key="interrupted-1",
            context={"headers": {}, "query": {}, "body": {"n": 5}},
            status=ExecutionStatus.QUEUED,
            created_at=now,
        )
        await server.runtime.store.add_execution(execution)
        # A worker that then died: it claimed the execution and recorded the first job.
        claimed = await server.runtime.store.claim_executions(
            "dead-worker", limit=1, lease_seconds=60, now=now
        )
        assert [c.id for c in claimed] == [execution.id]
        done = Job(new_id(), execution.id, first.id, "n0", JobStatus.RESOLVED, {"run": 1}, {}, now, now)
        await server.runtime.store.add_jobs([done])

        assert await server.runtime.store.expire_claims("dead-worker") == 1
        # Workers of its own: the server's would race the dead worker's claim above.
        await WorkerPool(server.runtime.store, FlowCache(server.runtime.store), poll_seconds=0.05).drain()

        resumed = await server.runtime.store.get_execution(execution.id)
        assert resumed is not None
        assert resumed.status == ExecutionStatus.RESOLVED
        assert resumed.attempt == 2
        assert CountNode.runs == {"n1": 1, "n2": 1}
        jobs = await server.runtime.store.list_jobs(execution.id)
        assert [j.node_key for j in jobs] == ["n0", "n1", "n2"]


async def test_a_lapsed_claim_on_a_running_execution_does_not_start_it_twice(make_server: Any) -> None:
    """If a worker's own claim lapses while the execution still runs, it is not run a second time."""
    async with make_server(lease_seconds=0.2) as server:
        store = server.runtime.store

        async def renewals_fail(*args: Any, **kwargs: Any) -> set[int]:
            """Stand-in for renewals that never reach the database."""
            raise StorageUnavailable("renewals are down in this test")

        store.renew_claims = renewals_fail  # type: ignore[method-assign]
        key = await server.load(chain("test-hold"))
        assert (await server.post(key, json={"n": 1})).status_code == 200
        # Let the claim lapse several times while the node waits, then release it.
        await asyncio.wait_for(HoldNode.entered.wait(), timeout=5)
        for _ in range(3):
            server.runtime.workers.wake()
            await asyncio.wait_for(_claim_lapsed(store), timeout=5)
        HoldNode.release.set()
        await server.runtime.workers.drain()
        assert HoldNode.most_waiting == 1
        jobs = await store.list_jobs((await store.list_executions(ExecutionFilter()))[0].id)
        assert [j.node_key for j in jobs] == ["n0"]


async def test_execution_canceled_while_running_stops_and_stays_canceled(make_server: Any) -> None:
    """Canceling a running execution stops its node at the next renewal; it is never finished or rerun."""
    async with make_server(lease_seconds=0.3) as server:  # renewals every 0.1 s
        store = server.runtime.store
        key = await server.load(chain("test-hold", "test-count"))
        response = await server.post(key, json={"n": 1})
        execution_id = int(response.headers["x-hookline-execution"])
        await asyncio.wait_for(HoldNode.entered.wait(), timeout=5)
        assert await store.cancel_execution(execution_id, now=datetime.now(UTC)) is True
        await asyncio.wait_for(HoldNode.stopped.wait(), timeout=5)
        HoldNode.release.set()
        await server.runtime.workers.drain()
        assert server.runtime.workers.running == 0
        stored = await store.get_execution(execution_id)
        assert stored is not None
        assert (stored.status, stored.error) == (ExecutionStatus.CANCELED, "canceled")
        assert await store.list_jobs(execution_id) == []
        assert CountNode.runs == {}  # the second node never ran
        assert HoldNode.most_waiting == 1


async def test_shutdown_hands_running_executions_over_after_the_grace(
    make_server: Any, tmp_path: Path
) -> None:
    """Closing a server stops a blocked run after the grace, frees its claim, and a restart resumes it."""
    running = make_server(shutdown_grace_seconds=0.1, lease_seconds=600.0)
    server = await running.__aenter__()
    key = await server.load(chain("test-count", "test-hold", "test-count"))
    response = await server.post(key, json={"n": 1})
    execution_id = int(response.headers["x-hookline-execution"])
    await asyncio.wait_for(HoldNode.entered.wait(), timeout=5)
    closing = asyncio.get_running_loop().time()
    await running.__aexit__(None, None, None)
    assert asyncio.get_running_loop().time() - closing < 5  # the 0.1 s grace, not the 10 s default
    assert HoldNode.stopped.is_set()
    store = await open_store(f"sqlite:///{tmp_path / 'hookline.db'}", migrate=False)
    try:
        c = executions.c
        async with store.engine.connect() as connection:
            query = select(c.status, c.claimed_by, c.claim_expires_at).where(c.id == execution_id)
            row = (await connection.execute(query)).one()
        assert tuple(row) == ("started", None, None)
        assert [j.node_key for j in await store.list_jobs(execution_id)] == ["n0"]
    finally:
        await store.close()

    HoldNode.release.set()
    async with make_server() as restarted:
        await restarted.runtime.workers.drain()
        resumed = await restarted.runtime.store.get_execution(execution_id)
        assert resumed is not None
        assert (resumed.status, resumed.attempt) == (ExecutionStatus.RESOLVED, 2)
        jobs = await restarted.runtime.store.list_jobs(execution_id)
    assert [j.node_key for j in jobs] == ["n0", "n1", "n2"]
    assert CountNode.runs == {"n0": 1, "n2": 1}


async def _claim_lapsed(store: Any) -> None:
    """Return once the only execution's claim has expired and been taken again."""
    first = (await store.list_executions(ExecutionFilter()))[0]
    while True:
        await asyncio.sleep(0.05)
        now = (await store.list_executions(ExecutionFilter()))[0]
        if now.attempt > first.attempt:
            return
