"""How the processor walks a workflow, seen through synchronous webhook calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.registry import register, unregister
from hookline.types import JsonObject
from tests._workflows import condition, node, respond, sync_workflow
from tests.integration.conftest import Server


class RecordNode(NodeType):
    """Test node: resolves with its rendered `value` as the result."""

    type: ClassVar[str] = "test-record"

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        return Outcome(JobStatus.RESOLVED, ctx.render(config.get("value")))


class RaiseNode(RecordNode):
    """Test node: raises, as a buggy or failing node would."""

    type: ClassVar[str] = "test-raise"

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        raise RuntimeError("the third party said no")


class BlockNode(RecordNode):
    """Test node: waits for an event nobody sets, so only a timeout ends it."""

    type: ClassVar[str] = "test-block"

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class GateNode(RecordNode):
    """Test node: waits until `expected` runs of it are waiting at once, then lets all go."""

    type: ClassVar[str] = "test-gate"
    arrived: ClassVar[int] = 0
    expected: ClassVar[int] = 1
    opened: ClassVar[asyncio.Event]

    @classmethod
    def reset(cls, expected: int) -> None:
        cls.arrived, cls.expected, cls.opened = 0, expected, asyncio.Event()

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        type(self).arrived += 1
        if type(self).arrived >= self.expected:
            self.opened.set()
        await self.opened.wait()
        return Outcome(JobStatus.RESOLVED, self.arrived)


@pytest.fixture(autouse=True)
def test_nodes() -> Iterator[None]:
    """Register the test node types for one test."""
    kinds = [RecordNode(), RaiseNode(), BlockNode(), GateNode()]
    for kind in kinds:
        register(kind)
    yield
    for kind in kinds:
        unregister(kind.type)


async def _run(server: Server, workflow: JsonObject, body: Any) -> tuple[Any, list[str]]:
    key = await server.load(workflow)
    response = await server.post(key, json=body)
    execution_id = int(response.headers["x-hookline-execution"])
    jobs = await server.runtime.store.list_jobs(execution_id)
    return response, [f"{j.node_key}:{j.status.value}" for j in jobs]


async def test_flow_continues_after_a_branch(server: Server) -> None:
    """After the chosen branch ends, the node after the condition runs."""
    workflow = sync_workflow(
        condition("c", "{{$context.body.x}}", 1),
        node("yes", "test-record", "c", 1, value="yes"),
        node("no", "test-record", "c", 0, value="no"),
        node("after", "test-record", "c", value="{{$jobsMapByNodeKey.yes}}"),
    )
    response, jobs = await _run(server, workflow, {"x": 1})
    assert response.status_code == 200
    assert jobs == ["c:resolved", "yes:resolved", "after:resolved"]


async def test_false_condition_runs_the_false_branch(server: Server) -> None:
    """A false condition runs branch 0, then continues."""
    workflow = sync_workflow(
        condition("c", "{{$context.body.x}}", 1),
        node("yes", "test-record", "c", 1, value="yes"),
        node("no", "test-record", "c", 0, value="no"),
        respond("end", "c", body="{{$jobsMapByNodeKey.no}}"),
    )
    response, jobs = await _run(server, workflow, {"x": 2})
    assert response.text == "no"
    assert jobs == ["c:resolved", "no:resolved", "end:resolved"]


async def test_nested_branches_run_in_order(server: Server) -> None:
    """A condition inside a branch runs its own branch, then the outer chain goes on."""
    workflow = sync_workflow(
        condition("outer", "{{$context.body.a}}", 1),
        condition("inner", "{{$context.body.b}}", 1, "outer", 1),
        node("deep", "test-record", "inner", 1, value="deep"),
        node("after-inner", "test-record", "inner", value="after-inner"),
        node("after-outer", "test-record", "outer", value="after-outer"),
    )
    response, jobs = await _run(server, workflow, {"a": 1, "b": "1"})
    assert response.status_code == 200
    assert jobs == [
        "outer:resolved",
        "inner:resolved",
        "deep:resolved",
        "after-inner:resolved",
        "after-outer:resolved",
    ]


async def test_first_response_reached_wins(server: Server) -> None:
    """The first Response node reached answers and ends the run; later nodes never run."""
    workflow = sync_workflow(
        condition("c", "{{$context.body.x}}", 1),
        respond("early", "c", 1, status=201, body={"which": "early"}),
        respond("late", "c", status=202, body={"which": "late"}),
    )
    response, jobs = await _run(server, workflow, {"x": 1})
    assert response.status_code == 201
    assert response.json() == {"which": "early"}
    assert jobs == ["c:resolved", "early:resolved"]


async def test_reject_on_false_fails_the_execution(server: Server) -> None:
    """`rejectOnFalse` turns a false condition into a failed execution and a 500."""
    check = condition("c", "{{$context.body.x}}", 1)
    check["config"]["rejectOnFalse"] = True
    workflow = sync_workflow(check, node("after", "test-record", "c", value=1))
    response, jobs = await _run(server, workflow, {"x": 0})
    assert response.status_code == 500
    assert response.json()["status"] == "failed"
    assert jobs == ["c:failed"]


async def test_exception_in_a_node_becomes_an_error_job(server: Server) -> None:
    """A node that raises is recorded as an `error` job; the caller gets a 500 without a trace."""
    workflow = sync_workflow(node("boom", "test-raise"), node("after", "test-record", "boom", value=1))
    response, jobs = await _run(server, workflow, {})
    assert response.status_code == 500
    assert response.json()["status"] == "error"
    assert "the third party said no" not in response.text
    assert jobs == ["boom:error"]
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.status == "error"
    assert execution.error is not None
    assert "the third party said no" in execution.error


async def test_timeout_answers_408_and_aborts(server: Server) -> None:
    """A synchronous run past `options.timeout` answers 408 and is recorded `aborted`."""
    workflow = sync_workflow(
        node("first", "test-record", value=1), node("stuck", "test-block", "first"), options={"timeout": 500}
    )
    response, jobs = await _run(server, workflow, {})
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "timeout"
    assert jobs == ["first:resolved"]
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert (execution.status, execution.error) == ("aborted", "timeout")


async def test_concurrent_sync_requests_run_at_the_same_time(server: Server) -> None:
    """Synchronous executions do not wait for each other: ten runs meet at a gate together."""
    GateNode.reset(10)
    workflow = sync_workflow(node("gate", "test-gate"), options={"timeout": 5000})
    key = await server.load(workflow)
    responses = await asyncio.gather(*(server.post(key, json={}) for _ in range(10)))
    # Run one at a time, the first run would wait at the gate until its timeout (408).
    assert [r.status_code for r in responses] == [200] * 10


def multi(key: str, *rights: Any, continue_on_no_match: bool) -> JsonObject:
    """A multi-conditions node: condition i is `$context.body.x == rights[i]`."""
    conditions = [
        {
            "engine": "basic",
            "calculation": {"calculator": "equal", "operands": ["{{$context.body.x}}", right]},
        }
        for right in rights
    ]
    return node(key, "multi-conditions", conditions=conditions, continueOnNoMatch=continue_on_no_match)


async def test_multi_conditions_runs_the_first_matching_branch(server: Server) -> None:
    """The first true condition i runs branch i+1, then the flow continues after the node."""
    workflow = sync_workflow(
        multi("m", 1, 2, 2, continue_on_no_match=False),
        node("one", "test-record", "m", 1, value=1),
        node("two", "test-record", "m", 2, value=2),
        node("three", "test-record", "m", 3, value=3),
        node("other", "test-record", "m", 0, value=0),
        node("after", "test-record", "m", value="after"),
    )
    response, jobs = await _run(server, workflow, {"x": 2})
    assert response.status_code == 200
    assert jobs == ["m:resolved", "two:resolved", "after:resolved"]


@pytest.mark.parametrize(("go_on", "status", "expected"), [(True, 200, "after:resolved"), (False, 500, None)])
async def test_multi_conditions_without_a_match_runs_the_default_branch(
    server: Server, go_on: bool, status: int, expected: str | None
) -> None:
    """No match runs branch 0; only with `continueOnNoMatch` does the flow go on after it."""
    workflow = sync_workflow(
        multi("m", 1, continue_on_no_match=go_on),
        node("one", "test-record", "m", 1, value=1),
        node("other", "test-record", "m", 0, value=0),
        node("after", "test-record", "m", value="after"),
    )
    response, jobs = await _run(server, workflow, {"x": 9})
    assert response.status_code == status
    assert jobs == [
        "m:" + ("resolved" if go_on else "failed"),
        "other:resolved",
        *([expected] if expected else []),
    ]
