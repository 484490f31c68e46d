"""The loop node through HTTP: its branch once per item, with the item in `$scopes`, and its exits."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.models import ExecutionStatus, Job, JobStatus
from tests.integration.conftest import Server

FAILS_ON_TWO = {
    "rejectOnFalse": True,
    "engine": "math.js",
    "expression": "{{$scopes.loop.item}} != 2",
}
"""A condition that fails the item whose value is 2 (and passes the others)."""


def node(
    key: str, kind: str, config: dict[str, Any], upstream: str | None = None, branch: int | None = None
) -> dict[str, Any]:
    """One node of workflow JSON."""
    return {"key": key, "type": kind, "upstream": upstream, "branchIndex": branch, "config": config}


def looping(loop: dict[str, Any], *body: dict[str, Any], after: bool = True) -> dict[str, Any]:
    """A synchronous workflow: a loop `loop` whose branch is `body` (chained), then `done` (a calculation)."""
    nodes = [node("loop", "loop", loop)]
    upstream, branch = "loop", 0
    for inner in body:
        nodes.append({**inner, "upstream": upstream, "branchIndex": branch})
        upstream, branch = inner["key"], None
    if after:
        nodes.append(node("done", "calculation", {"expression": "1"}, "loop"))
    return {"title": "loop", "type": "webhook", "sync": True, "enabled": True, "config": {}, "nodes": nodes}


TIMES_TEN = node("times", "calculation", {"expression": "{{$scopes.loop.item}} * 10"})


async def run(server: Server, workflow: dict[str, Any], body: Any = None) -> tuple[int, list[Job]]:
    """Load the workflow, POST `body` to it, and return the answer's status and the recorded jobs."""
    key = await server.load(workflow)
    answer = await server.post(key, json=body if body is not None else {})
    execution_id = int(answer.headers["x-hookline-execution"])
    return answer.status_code, await server.runtime.store.list_jobs(execution_id)


def by_key(jobs: list[Job], key: str) -> list[Job]:
    """The jobs of one node, in the order they ran."""
    return [job for job in jobs if job.node_key == key]


async def test_the_branch_runs_once_per_item_with_the_item_in_scope(server: Server) -> None:
    """A list of three from the body: three jobs of the inner node, one per frame, then the node after."""
    status, jobs = await run(
        server, looping({"target": "{{$context.body.items}}"}, TIMES_TEN), {"items": [1, 2, 3]}
    )
    assert status == 200
    times = by_key(jobs, "times")
    assert [job.result for job in times] == [10, 20, 30]
    assert [job.meta["iteration"] for job in times] == ["loop#0/", "loop#1/", "loop#2/"]
    [loop] = by_key(jobs, "loop")
    assert (loop.status, loop.result) == (JobStatus.RESOLVED, {"looped": 3, "done": 3, "length": 3})
    assert [job.node_key for job in jobs] == ["loop", "times", "times", "times", "done"]  # by start


async def test_a_number_target_counts_from_zero(server: Server) -> None:
    """`target: 3` runs items 0, 1, 2; index and sequence are 0- and 1-based."""
    inner = node(
        "pair", "calculation", {"expression": "{{$scopes.loop.index}} * 100 + {{$scopes.loop.sequence}}"}
    )
    _, jobs = await run(server, looping({"target": 3}, inner))
    assert [job.result for job in by_key(jobs, "pair")] == [1, 102, 203]


@pytest.mark.parametrize("target", [0, [], None, "{{$context.body.missing}}"])
async def test_nothing_to_loop_over_runs_no_item(server: Server, target: Any) -> None:
    """Zero, an empty list or nothing: the branch never runs and the workflow goes on."""
    status, jobs = await run(server, looping({"target": target if target is not None else [None]}, TIMES_TEN))
    assert status == 200
    assert by_key(jobs, "times") == []
    assert by_key(jobs, "loop")[0].result == {"looped": 0, "done": 0, "length": 0}


async def test_a_condition_before_each_item_breaks_the_loop(server: Server) -> None:
    """`item < 3` checked before each item: items 1 and 2 run, then the loop stops, broken."""
    condition = {"engine": "math.js", "expression": "{{$scopes.loop.item}} < 3"}
    _, jobs = await run(server, looping({"target": [1, 2, 3, 4], "condition": condition}, TIMES_TEN))
    assert [job.result for job in by_key(jobs, "times")] == [10, 20]
    assert by_key(jobs, "loop")[0].result == {"looped": 2, "done": 2, "length": 4, "broken": True}


async def test_continue_on_false_skips_the_item(server: Server) -> None:
    """With `continueOnFalse`, an item failing the condition is skipped and the loop goes on."""
    condition = {"engine": "math.js", "expression": "{{$scopes.loop.item}} != 2", "continueOnFalse": True}
    _, jobs = await run(server, looping({"target": [1, 2, 3], "condition": condition}, TIMES_TEN))
    assert [job.result for job in by_key(jobs, "times")] == [10, 30]


async def test_a_condition_after_each_item_always_runs_the_first(server: Server) -> None:
    """Checkpoint `after` (a do-while): the first item runs although the condition is false for it."""
    condition = {"engine": "math.js", "expression": "{{$scopes.loop.item}} > 5", "checkpoint": "after"}
    _, jobs = await run(server, looping({"target": [1, 2, 3], "condition": condition}, TIMES_TEN))
    assert [job.result for job in by_key(jobs, "times")] == [10]


async def test_a_failing_item_fails_the_loop_and_the_execution_by_default(server: Server) -> None:
    """`exit` unset: item 2 fails, the loop fails with it, nothing after the loop runs; a 500."""
    check = node("check", "condition", FAILS_ON_TWO)
    status, jobs = await run(server, looping({"target": [1, 2, 3]}, check))
    assert status == 500
    assert [job.status for job in by_key(jobs, "check")] == [JobStatus.RESOLVED, JobStatus.FAILED]
    [loop] = by_key(jobs, "loop")
    assert loop.status is JobStatus.FAILED
    assert by_key(jobs, "done") == []


async def test_exit_break_stops_at_the_failing_item_and_goes_on(server: Server) -> None:
    """`exit: "break"`: the loop resolves, broken, at item 2; the node after it runs."""
    check = node("check", "condition", FAILS_ON_TWO)
    status, jobs = await run(server, looping({"target": [1, 2, 3], "exit": "break"}, check))
    assert status == 200
    assert len(by_key(jobs, "check")) == 2
    assert by_key(jobs, "loop")[0].result == {"looped": 2, "done": 1, "length": 3, "broken": True}
    assert len(by_key(jobs, "done")) == 1


async def test_exit_continue_runs_every_item(server: Server) -> None:
    """`exit: 2` (NocoBase's continue): item 2 fails, items 1 and 3 are done; the failure stays recorded."""
    check = node("check", "condition", FAILS_ON_TWO)
    status, jobs = await run(server, looping({"target": [1, 2, 3], "exit": 2}, check))
    assert status == 200
    assert [job.status for job in by_key(jobs, "check")] == [
        JobStatus.RESOLVED,
        JobStatus.FAILED,
        JobStatus.RESOLVED,
    ]
    assert by_key(jobs, "loop")[0].result == {"looped": 3, "done": 2, "length": 3}


async def test_an_end_node_inside_the_loop_ends_the_whole_execution(server: Server) -> None:
    """An `end` in the branch ends the execution at the first item, with its status."""
    stop = node("stop", "end", {"endStatus": "failed"})
    status, jobs = await run(server, looping({"target": [1, 2, 3]}, stop))
    assert status == 500
    assert [job.node_key for job in jobs] == ["stop"]


async def test_loops_nest_with_their_own_frames(server: Server) -> None:
    """A loop inside a loop: both items in scope, each inner job under both frames."""
    inner_loop = node("inner", "loop", {"target": 2})
    pair = node("pair", "calculation", {"expression": "{{$scopes.loop.item}} * 10 + {{$scopes.inner.item}}"})
    workflow = looping({"target": [1, 2]}, inner_loop)
    workflow["nodes"].append({**pair, "upstream": "inner", "branchIndex": 0})
    _, jobs = await run(server, workflow)
    pairs = by_key(jobs, "pair")
    assert [job.result for job in pairs] == [10, 11, 20, 21]
    assert pairs[3].meta["iteration"] == "loop#1/inner#1/"


async def test_a_target_beyond_the_limit_is_an_error_job(server: Server) -> None:
    """A rendered list longer than the loop limit: the loop is an error job, nothing runs."""
    status, jobs = await run(server, looping({"target": "{{$context.body.n}}"}, TIMES_TEN), {"n": 10_001})
    assert status == 500
    [loop] = jobs
    assert loop.status is JobStatus.ERROR
    assert "not a count from 0 to 10000" in loop.result["message"]


async def test_an_asynchronous_loop_finishes_in_the_background(server: Server) -> None:
    """The same loop in an asynchronous workflow: accepted at once, every item run by the workers."""
    workflow = looping({"target": [1, 2, 3]}, TIMES_TEN)
    workflow["sync"] = False
    key = await server.load(workflow)
    answer = await server.post(key, json={})
    execution_id = int(answer.headers["x-hookline-execution"])
    await server.runtime.workers.drain()
    execution = await server.runtime.store.get_execution(execution_id)
    assert execution is not None
    assert execution.status is ExecutionStatus.RESOLVED
    jobs = await server.runtime.store.list_jobs(execution_id)
    assert [job.result for job in by_key(jobs, "times")] == [10, 20, 30]
