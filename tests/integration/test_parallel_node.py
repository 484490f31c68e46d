"""The parallel node through HTTP: branches that really run at once, and the four modes.

Concurrency is proven with a gate, not with timings: each of two branches opens its own gate and
then waits for the other's, which only finishes when both run at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from hookline.errors import Problem
from hookline.models import ExecutionStatus, Job, JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome, WaitReason
from hookline.nodes.registry import register, unregister
from hookline.types import JsonObject
from tests._waiting import wait_until
from tests.integration.conftest import Server

FAILS = {"rejectOnFalse": True, "engine": "math.js", "expression": "1 > 2"}
"""A condition node config that always fails its job."""


class GateNode(NodeType):
    """Test node: opens the gate `config.open`, then waits (at most 5 s) for the gate `config.wait`."""

    type: ClassVar[str] = "gate"
    gates: ClassVar[dict[str, asyncio.Event]] = {}

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        self.gates.setdefault(config["open"], asyncio.Event()).set()
        try:
            async with asyncio.timeout(5):
                await self.gates.setdefault(config["wait"], asyncio.Event()).wait()
        except TimeoutError:
            return Outcome(JobStatus.FAILED, {"message": f"gate {config['wait']} never opened"})
        return Outcome(JobStatus.RESOLVED, config["open"])


class HoldNode(NodeType):
    """Test node: blocks until canceled, and notes that it was."""

    type: ClassVar[str] = "hold"
    canceled: ClassVar[int] = 0

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            type(self).canceled += 1
            raise
        return Outcome(JobStatus.RESOLVED, None)  # never reached


class LaterNode(NodeType):
    """Test node: asks once for a retry `config.seconds` later, then resolves."""

    type: ClassVar[str] = "later"

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        if ctx.previous is None:
            until = datetime.now(UTC) + timedelta(seconds=config["seconds"])
            return Outcome.later(until, None, WaitReason.RETRY)
        return Outcome(JobStatus.RESOLVED, ctx.attempt)


@pytest.fixture(autouse=True)
def test_nodes() -> Iterator[None]:
    """Register the test node types with fresh state, for one test."""
    GateNode.gates = {}
    HoldNode.canceled = 0
    kinds = [GateNode(), HoldNode(), LaterNode()]
    for kind in kinds:
        register(kind)
    yield
    for kind in kinds:
        unregister(kind.type)


def forked(mode: str, *branches: tuple[str, dict[str, Any]], sync: bool = True) -> dict[str, Any]:
    """A workflow: a parallel node `fork` with one single-node branch per (type, config), then `after`."""
    nodes = [
        {"key": "fork", "type": "parallel", "upstream": None, "branchIndex": None, "config": {"mode": mode}}
    ]
    for index, (kind, config) in enumerate(branches):
        nodes.append(
            {"key": f"b{index}", "type": kind, "upstream": "fork", "branchIndex": index, "config": config}
        )
    nodes.append(
        {
            "key": "after",
            "type": "calculation",
            "upstream": "fork",
            "branchIndex": None,
            "config": {"expression": "1"},
        }
    )
    return {"title": "fork", "type": "webhook", "sync": sync, "enabled": True, "config": {}, "nodes": nodes}


async def run(server: Server, workflow: dict[str, Any]) -> tuple[int, dict[str, Job]]:
    """Load the workflow, POST to it, and return the answer's status and the jobs by node key."""
    key = await server.load(workflow)
    answer = await server.post(key, json={})
    jobs = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
    return answer.status_code, {job.node_key: job for job in jobs}


async def test_branches_run_at_the_same_time(server: Server) -> None:
    """Two branches that each wait for the other's gate both resolve: they ran concurrently."""
    workflow = forked("all", ("gate", {"open": "a", "wait": "b"}), ("gate", {"open": "b", "wait": "a"}))
    status, jobs = await run(server, workflow)
    assert status == 200
    assert (jobs["b0"].result, jobs["b1"].result) == ("a", "b")
    assert jobs["fork"].result == {
        "mode": "all",
        "branches": [{"index": 0, "status": "resolved"}, {"index": 1, "status": "resolved"}],
    }
    assert "after" in jobs


async def test_all_fails_as_soon_as_a_branch_fails(server: Server) -> None:
    """`all`: one branch fails, the still running one is canceled, the execution fails."""
    status, jobs = await run(server, forked("all", ("condition", FAILS), ("hold", {})))
    assert status == 500
    assert (jobs["b0"].status, jobs["fork"].status) == (JobStatus.FAILED, JobStatus.FAILED)
    assert HoldNode.canceled == 1
    assert "b1" not in jobs
    assert "after" not in jobs


async def test_any_goes_on_with_the_first_branch_that_resolves(server: Server) -> None:
    """`any`: a failure alone does not decide; the resolving branch does, and the hold is canceled."""
    workflow = forked("any", ("condition", FAILS), ("calculation", {"expression": "2"}), ("hold", {}))
    status, jobs = await run(server, workflow)
    assert status == 200
    assert jobs["fork"].status is JobStatus.RESOLVED
    assert HoldNode.canceled == 1
    assert "after" in jobs


async def test_any_fails_when_every_branch_fails(server: Server) -> None:
    """`any` with only failing branches fails."""
    status, jobs = await run(server, forked("any", ("condition", FAILS), ("condition", FAILS)))
    assert status == 500
    assert jobs["fork"].status is JobStatus.FAILED


async def test_race_takes_the_first_to_finish_even_a_failure(server: Server) -> None:
    """`race` (NocoBase's 2): the failing branch finishes first and decides."""
    status, jobs = await run(server, forked(2, ("condition", FAILS), ("hold", {})))
    assert status == 500
    assert jobs["fork"].status is JobStatus.FAILED
    assert HoldNode.canceled == 1


async def test_all_settled_waits_for_every_branch_and_goes_on(server: Server) -> None:
    """`allSettled`: a failed and a resolved branch; the fork resolves and lists both."""
    status, jobs = await run(
        server, forked("allSettled", ("condition", FAILS), ("calculation", {"expression": "3"}))
    )
    assert status == 200
    assert jobs["fork"].result == {
        "mode": "allSettled",
        "branches": [{"index": 0, "status": "failed"}, {"index": 1, "status": "resolved"}],
    }
    assert jobs["b0"].status is JobStatus.FAILED
    assert "after" in jobs


async def test_branches_that_wait_resume_each_when_due(server: Server) -> None:
    """Async: two branches ask for retries 0.2 s and 0.5 s later; the execution waits, then both resolve."""
    workflow = forked("all", ("later", {"seconds": 0.2}), ("later", {"seconds": 0.5}), sync=False)
    key = await server.load(workflow)
    answer = await server.post(key, json={})
    execution_id = int(answer.headers["x-hookline-execution"])

    async def resolved() -> bool:
        execution = await server.runtime.store.get_execution(execution_id)
        return execution is not None and execution.status is ExecutionStatus.RESOLVED

    await wait_until(resolved, "both branches resolved", within=10)
    listed = await server.runtime.store.list_jobs(execution_id)
    jobs = {job.node_key: job for job in listed}
    assert [(jobs[key].status, jobs[key].result) for key in ("b0", "b1")] == [(JobStatus.RESOLVED, 2)] * 2
    assert "after" in jobs
    # The parallel node kept one job across both waits, recorded before its branches' jobs.
    assert [job.node_key for job in listed].count("fork") == 1
    assert listed[0].node_key == "fork"
    assert jobs["fork"].status is JobStatus.RESOLVED
