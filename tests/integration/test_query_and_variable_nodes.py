"""The json-query and variable nodes through real webhook calls, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from hookline.ids import new_id
from hookline.models import Execution, ExecutionStatus, Job, JobStatus
from hookline.nodes.variable import ASSIGNS
from hookline.types import JsonObject
from tests._workflows import condition, node, respond, sync_workflow
from tests.integration._admin import authorize, create, error_of, where
from tests.integration.conftest import Server

ORDER = {
    "id": 7,
    "items": [{"sku": "a", "price": 5, "qty": 2}, {"sku": "b", "price": 20, "qty": 1}],
}


@pytest.fixture
async def served(make_server: Callable[..., Any], database: dict[str, str]) -> AsyncIterator[Server]:
    """A server on each database, with the admin token in its client."""
    async with make_server(**database) as server:
        yield authorize(server)


async def call(server: Server, workflow: JsonObject, body: Any) -> tuple[Any, dict[str, Job]]:
    """Load a workflow, call it once; the answer and the execution's jobs by node key."""
    key = await server.load(workflow)
    response = await server.post(key, json=body)
    jobs = await server.runtime.store.list_jobs(int(response.headers["x-hookline-execution"]))
    return response, {job.node_key: job for job in jobs}


@pytest.mark.parametrize(
    ("engine", "expression"),
    [("jmespath", "items[?price > `10`]"), ("jsonata", "items[price > 10]")],
)
async def test_a_query_picks_and_maps_the_items(served: Server, engine: str, expression: str) -> None:
    """Each engine's result, mapped by the model, is the job's result and later nodes read it."""
    query = node(
        "q",
        "json-query",
        engine=engine,
        source="{{$context.body}}",
        expression=expression,
        model=[{"path": "sku", "alias": "code"}, {"path": "price"}],
    )
    workflow = sync_workflow(query, respond("r", "q", body={"picked": "{{$jobsMapByNodeKey.q}}"}))
    response, jobs = await call(served, workflow, ORDER)
    assert response.status_code == 200
    # A JMESPath filter keeps a list; JSONata gives the single match itself, as it does in NocoBase.
    picked = [{"code": "b", "price": 20}] if engine == "jmespath" else {"code": "b", "price": 20}
    assert response.json() == {"picked": picked}
    assert jobs["q"].result == picked


async def test_a_query_past_its_limits_is_an_error_job(served: Server) -> None:
    """An endless JSONata recursion ends the execution as an error with the limit named, never a hang."""
    loop = node(
        "q", "json-query", engine="jsonata", source=1, expression="($f := function($x){ $f($x) }; $f(1))"
    )
    response, jobs = await call(served, sync_workflow(loop), {})
    assert response.status_code == 500
    assert jobs["q"].status is JobStatus.ERROR
    assert isinstance(jobs["q"].result, dict)
    assert "ran longer than 1 s" in jobs["q"].result["message"]


async def test_a_syntax_error_is_refused_when_the_node_is_saved(served: Server) -> None:
    """Adding a json-query node whose expression does not compile answers 422 at config.expression."""
    flow = await served.client.post(
        f"/api/workflows/{(await create(served))['id']}/nodes",
        json={"type": "json-query", "key": "q", "config": {"source": 1, "expression": "items[?"}},
    )
    error = error_of(flow, 422)
    assert where(error) == ["nodes[q].config.expression"]
    assert "Incomplete expression" in error["details"][0]["message"]


def assigning_workflow() -> JsonObject:
    """`v` declares 0; the true branch of `c` assigns `{{$context.body.n}}` to it; `r` answers with `v`."""
    return sync_workflow(
        node("v", "variable", value=0),
        condition("c", "{{$context.body.set}}", True, "v"),
        node("set", "variable", "c", 1, target="v", value="{{$context.body.n}}"),
        respond("r", "c", body={"v": "{{$jobsMapByNodeKey.v}}", "set": "{{$jobsMapByNodeKey.set}}"}),
    )


async def test_a_target_that_is_not_an_upstream_variable_is_refused_on_import(served: Server) -> None:
    """Importing a workflow whose variable node assigns to a node that is not an upstream variable is a
    422 naming that node's target, as the graph check finds it."""
    workflow = sync_workflow(
        node("v", "variable", value=0),
        node("set", "variable", "v", target="r", value=1),
        respond("r", "set", body={}),
    )
    error = error_of(await served.client.post("/api/workflows/import", json=workflow), 422)
    assert where(error) == ["nodes[set].config.target"]


@pytest.mark.parametrize(("body", "expected"), [({"set": True, "n": 5}, 5), ({"set": False, "n": 5}, 0)])
async def test_a_value_assigned_in_a_branch_is_read_after_it(
    served: Server, body: JsonObject, expected: int
) -> None:
    """After the branch, `$jobsMapByNodeKey.v` reads the assigned value, or the declared one without it."""
    response, jobs = await call(served, assigning_workflow(), body)
    assert response.status_code == 200
    assert response.json()["v"] == expected
    assert jobs["v"].result == 0, "the declaring job keeps the value it declared"
    if body["set"]:
        assert (jobs["set"].result, jobs["set"].meta[ASSIGNS]) == (5, "v")


async def test_an_assignment_survives_a_resumed_execution(
    make_server: Callable[..., Any], database: dict[str, str]
) -> None:
    """A worker died after `set` assigned 5 to `v`: another server resumes it, and `read` sees 5."""
    workflow = {
        **sync_workflow(
            node("v", "variable", value=1),
            node("set", "variable", "v", target="v", value=5),
            node("read", "variable", "set", value="{{$jobsMapByNodeKey.v}}"),
        ),
        "sync": False,
    }
    async with make_server(workers=0, **database) as crashed:  # no workers: only the dead one claims
        execution_id = await _record_a_run_cut_off_after_the_assignment(crashed, workflow)
    async with make_server(**database) as restarted:
        store = restarted.runtime.store
        async with asyncio.timeout(10):
            # drain() can return while the claim loop's own claim is still being started (seen on
            # PostgreSQL), so drain until the execution has finished.
            while (resumed := await store.get_execution(execution_id)) is None or resumed.finished_at is None:
                await restarted.runtime.workers.drain()
        assert resumed.status == ExecutionStatus.RESOLVED
        jobs = await store.list_jobs(execution_id)
    assert [(j.node_key, j.result) for j in jobs] == [("v", 1), ("set", 5), ("read", 5)]


async def _record_a_run_cut_off_after_the_assignment(server: Server, workflow: JsonObject) -> int:
    """Queue an execution, claim it as a worker that then dies after recording `v` and `set`; its id."""
    key = await server.load(workflow)
    store = server.runtime.store
    flow = await store.get_live_flow(key)
    assert flow is not None
    ids = {n.key: n.id for n in flow.nodes}
    now = datetime.now(UTC)
    execution = Execution(
        id=new_id(),
        workflow_id=flow.workflow.id,
        key=key,
        event_key="resumed-assign",
        context={"headers": {}, "query": {}, "body": {}},
        status=ExecutionStatus.QUEUED,
        created_at=now,
    )
    await store.add_execution(execution)
    claimed = await store.claim_executions("dead", limit=1, lease_seconds=60, now=now)
    assert [c.id for c in claimed] == [execution.id]
    await store.add_jobs([Job(new_id(), execution.id, ids["v"], "v", JobStatus.RESOLVED, 1, {}, now, now)])
    meta = {ASSIGNS: "v"}
    await store.add_jobs(
        [Job(new_id(), execution.id, ids["set"], "set", JobStatus.RESOLVED, 5, meta, now, now)]
    )
    assert await store.expire_claims("dead") == 1
    return execution.id


async def test_an_assignment_the_changed_graph_no_longer_allows_is_an_error_at_run_time(
    served: Server,
) -> None:
    """When `v` became a condition after the checks, assigning to it fails the node, not the engine."""
    workflow = sync_workflow(
        node("v", "variable", value=1), node("set", "variable", "v", target="v", value=5)
    )
    key = await served.load(workflow)
    flow = await served.runtime.store.get_live_flow(key)
    assert flow is not None
    changed = [
        replace(n, type="condition", config=condition("v", 1, 1)["config"]) if n.key == "v" else n
        for n in flow.nodes
    ]
    await served.runtime.store.replace_nodes(flow.workflow.id, tuple(changed))
    served.runtime.flows.forget()
    response = await served.post(key, json={})
    assert response.status_code == 500
    jobs = await served.runtime.store.list_jobs(int(response.headers["x-hookline-execution"]))
    assert [(j.node_key, j.status) for j in jobs] == [("v", JobStatus.RESOLVED), ("set", JobStatus.ERROR)]
    assert isinstance(jobs[1].result, dict)
    assert "not a variable node" in jobs[1].result["message"]
