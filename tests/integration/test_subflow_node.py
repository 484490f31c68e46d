"""The subflow node through HTTP: call another workflow, wait for it (or not), and link the two."""

from __future__ import annotations

from typing import Any

from hookline.models import ExecutionStatus, JobStatus
from tests._waiting import wait_until
from tests._workflows import keyed_workflow
from tests.integration._admin import authorize
from tests.integration.conftest import Server


def node(key: str, kind: str, config: dict[str, Any], upstream: str | None = None) -> dict[str, Any]:
    """One node on the main chain."""
    return {"key": key, "type": kind, "upstream": upstream, "branchIndex": None, "config": config}


DOUBLER = keyed_workflow(
    "doubler",
    node("twice", "calculation", {"expression": "{{$context.body.n}} * 2"}),
    node(
        "answer", "response", {"statusCode": 200, "body": {"doubled": "{{$jobsMapByNodeKey.twice}}"}}, "twice"
    ),
    sync=True,
)
"""A synchronous child: answers with twice the `n` of its body."""

SLOW_CHILD = keyed_workflow(
    "slow-child",
    node("pause", "delay", {"duration": 300, "unit": "milliseconds"}),
    node("done", "calculation", {"expression": "{{$context.body.n}} + 1"}, "pause"),
    sync=False,
)
"""An asynchronous child that takes a little while (a delay)."""


def calling(
    child: str, *, sync: bool, wait: bool = True, then: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A parent calling `child` with `{"body": {"n": <the parent's n>}}`, then (optionally) one more node."""
    config = {"workflow": child, "context": {"body": {"n": "{{$context.body.n}}"}}, "wait": wait}
    nodes = [node("call", "subflow", config)]
    if then is not None:
        nodes.append({**then, "upstream": "call"})
    return keyed_workflow(f"calls-{child}", *nodes, sync=sync)


async def execution_of(server: Server, execution_id: int, status: ExecutionStatus) -> None:
    """Wait until the execution has this status."""

    async def reached() -> bool:
        execution = await server.runtime.store.get_execution(execution_id)
        return execution is not None and execution.status is status

    await wait_until(reached, f"execution {execution_id} is {status.value}", within=10)


async def test_a_synchronous_child_runs_at_once_and_its_answer_is_the_result(server: Server) -> None:
    """Sync parent, sync child: the child's Response is in the job; the two executions name each other."""
    await server.load(DOUBLER)
    respond = node("reply", "response", {"body": {"got": "{{$jobsMapByNodeKey.call.answer.body.doubled}}"}})
    key = await server.load(calling("doubler", sync=True, then=respond))
    answer = await server.post(key, json={"n": 21})
    assert (answer.status_code, answer.json()) == (200, {"got": 42})
    parent_id = int(answer.headers["x-hookline-execution"])
    [call, _] = await server.runtime.store.list_jobs(parent_id)
    assert call.result["status"] == "resolved"
    child = await server.runtime.store.get_execution(int(call.result["execution"]))
    assert child is not None
    assert (child.key, child.status, child.parent_id) == ("doubler", ExecutionStatus.RESOLVED, parent_id)


async def test_an_asynchronous_child_is_waited_for_without_a_worker(server: Server) -> None:
    """Async parent, async child with a delay: the parent waits, then resolves once the child has."""
    await server.load(SLOW_CHILD)
    key = await server.load(calling("slow-child", sync=False))
    answer = await server.post(key, json={"n": 1})
    parent_id = int(answer.headers["x-hookline-execution"])
    await execution_of(server, parent_id, ExecutionStatus.WAITING)
    await execution_of(server, parent_id, ExecutionStatus.RESOLVED)
    [call] = await server.runtime.store.list_jobs(parent_id)
    assert (call.status, call.result["status"], call.result["workflow"]) == (
        JobStatus.RESOLVED,
        "resolved",
        "slow-child",
    )
    child = await server.runtime.store.get_execution(int(call.result["execution"]))
    assert child is not None
    assert child.parent_id == parent_id
    assert [
        job.result for job in await server.runtime.store.list_jobs(child.id) if job.node_key == "done"
    ] == [2]
    authorize(server)
    view = (await server.client.get(f"/api/executions/{child.id}")).json()
    assert view["parent_id"] == str(parent_id)  # the admin API names the parent too


async def test_without_wait_the_child_is_queued_and_the_parent_goes_on(server: Server) -> None:
    """`wait: false`: the parent resolves with the child queued; the child runs on its own."""
    await server.load(SLOW_CHILD)
    key = await server.load(calling("slow-child", sync=True, wait=False))
    answer = await server.post(key, json={"n": 5})
    assert answer.status_code == 200
    [call] = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
    assert (call.status, call.result["status"]) == (JobStatus.RESOLVED, "queued")
    await execution_of(server, int(call.result["execution"]), ExecutionStatus.RESOLVED)


async def test_a_failing_child_fails_the_step(server: Server) -> None:
    """A child that ends failed: the subflow job fails, naming the child, and so does the parent."""
    await server.load(keyed_workflow("fails", node("stop", "end", {"endStatus": "failed"}), sync=True))
    key = await server.load(calling("fails", sync=True))
    answer = await server.post(key, json={"n": 1})
    assert answer.status_code == 500
    [call] = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
    assert call.status is JobStatus.FAILED
    assert call.result["message"].startswith("workflow 'fails' ended failed (execution ")


async def test_an_unknown_workflow_is_an_error_job(server: Server) -> None:
    """A key that names no enabled workflow: the step is an error saying so."""
    key = await server.load(calling("nobody", sync=True))
    answer = await server.post(key, json={"n": 1})
    assert answer.status_code == 500
    [call] = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
    assert (call.status, call.result) == (
        JobStatus.ERROR,
        {"message": "no enabled workflow has the key 'nobody'"},
    )


async def test_a_step_starts_its_child_once(server: Server) -> None:
    """Started twice for the same parent step (a parent resumed after a crash): one child."""
    await server.load(SLOW_CHILD)
    assert server.runtime.resources is not None
    subflows = server.runtime.resources.subflows
    assert subflows is not None
    first = await subflows.start("slow-child", {"body": {"n": 1}}, parent_id=7, step_key="call", run_now=True)
    again = await subflows.start("slow-child", {"body": {"n": 2}}, parent_id=7, step_key="call", run_now=True)
    other = await subflows.start(
        "slow-child", {"body": {"n": 3}}, parent_id=7, step_key="call@each#1", run_now=True
    )
    assert first.execution_id == again.execution_id != other.execution_id


async def test_a_workflow_calling_itself_stops_at_the_depth_limit(server: Server) -> None:
    """A synchronous workflow that calls itself: the eighth level refuses, and every level fails."""
    key = await server.load(calling("calls-self", sync=True) | {"key": "calls-self"})
    answer = await server.post(key, json={"n": 1})
    assert answer.status_code == 500
    deepest = int(answer.headers["x-hookline-execution"])
    levels = 1
    while True:
        [call] = await server.runtime.store.list_jobs(deepest)
        if call.status is JobStatus.ERROR:
            break
        deepest = int(call.result["execution"])
        levels += 1
    assert levels == 8
    assert "subflows nest 8 deep" in call.result["message"]
