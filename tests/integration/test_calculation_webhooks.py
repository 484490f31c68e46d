"""The calculation node through real HTTP, on SQLite and PostgreSQL: built over the API, run by a webhook."""

from __future__ import annotations

from typing import Any

from tests.integration._admin import add_node, authorize, create, error_of, where
from tests.integration.conftest import Server

TOTAL = {
    "engine": "formula.js",
    "expression": "ROUND({{$context.body.price}}, 2) * {{$context.body.qty}} * 1.2",
}
ANSWER = {
    "statusCode": 200,
    "body": {"total": "{{$jobsMapByNodeKey.total}}", "label": "{{$jobsMapByNodeKey.label}}"},
}


async def _calculating_workflow(server: Server) -> str:
    """A sync workflow: two calculations, then a Response with both results; enabled; its key."""
    flow = await create(server)
    total = await add_node(server, flow["id"], type="calculation", key="total", config=TOTAL)
    label_config = {
        "engine": "math.js",
        "expression": (
            'concat("order ", {{$context.body.id}}, ": ", '
            '{{$jobsMapByNodeKey.total}} > 100 ? "big" : "small")'
        ),
    }
    label = await add_node(
        server, flow["id"], type="calculation", key="label", config=label_config, upstream_id=total["id"]
    )
    await add_node(server, flow["id"], type="response", config=ANSWER, upstream_id=label["id"])
    assert (await server.client.post(f"/api/workflows/{flow['id']}/enable")).status_code == 200
    return str(flow["key"])


async def test_a_sync_workflow_answers_with_computed_values(
    make_server: Any, database: dict[str, str]
) -> None:
    """The Response node answers with the calculations' results, and each job records its value."""
    async with make_server(**database) as running:
        server = authorize(running)
        key = await _calculating_workflow(server)
        answer = await server.post(key, json={"id": 7, "price": "19.90", "qty": 5})
        assert (answer.status_code, answer.json()) == (200, {"total": 119.4, "label": "order 7: big"})
        jobs = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
        assert [(job.node_key, job.result) for job in jobs[:2]] == [
            ("total", 119.4),
            ("label", "order 7: big"),
        ]


async def test_a_variable_holding_code_stays_a_value(make_server: Any, database: dict[str, str]) -> None:
    """Text in the request body that looks like an expression is used as text, never run."""
    async with make_server(**database) as running:
        server = authorize(running)
        key = await _calculating_workflow(server)
        hostile = '1); __import__("os").system("touch /tmp/pwned'
        answer = await server.post(key, json={"id": hostile, "price": 1, "qty": 1})
        assert answer.status_code == 200
        assert answer.json()["label"] == f"order {hostile}: small"


async def test_a_failing_calculation_is_an_error_job_with_its_message(
    make_server: Any, database: dict[str, str]
) -> None:
    """A value that cannot be computed fails the execution: 500 for the caller, the job says where."""
    async with make_server(**database) as running:
        server = authorize(running)
        key = await _calculating_workflow(server)
        answer = await server.post(key, json={"id": 1, "price": "a lot", "qty": 2})
        assert answer.status_code == 500
        jobs = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
        assert [(job.node_key, job.status.value) for job in jobs] == [("total", "error")]
        assert jobs[0].result == {"message": "at 1: ROUND: needs a number, got 'a lot'", "position": 0}


async def test_a_bad_expression_is_refused_when_saved(server: Server) -> None:
    """A calculation whose expression cannot be computed is refused at save: 422 at config.expression."""
    api = authorize(server)
    flow = await create(api)
    body = {
        "type": "calculation",
        "key": "c",
        "config": {"engine": "formula.js", "expression": "9 ** 9 ** 9"},
    }
    error = error_of(await api.client.post(f"/api/workflows/{flow['id']}/nodes", json=body), 422)
    assert where(error) == ["nodes[c].config.expression"]
    assert "at 3: the power is too large" in str(error["details"])
    body["config"] = {"engine": "python", "expression": "1"}
    error = error_of(await api.client.post(f"/api/workflows/{flow['id']}/nodes", json=body), 422)
    assert where(error) == ["nodes[c].config.engine"]
