"""Expression conditions through real HTTP, on SQLite and PostgreSQL: imported as NocoBase stores them."""

from __future__ import annotations

from typing import Any

from tests.integration._admin import authorize, create, error_of, import_, where
from tests.integration.conftest import Server


def _answer(key: str, upstream: str, branch: int, tier: str) -> dict[str, Any]:
    """A Response node answering `{"tier": tier}` at the start of a branch."""
    config = {"statusCode": 200, "body": {"tier": tier}}
    return {"key": key, "type": "response", "upstream": upstream, "branchIndex": branch, "config": config}


# A condition in formula.js, then a multi-conditions in math.js and formula.js on its true branch:
# the node configs keep NocoBase's fields (`engine`, `expression`), so an exported workflow imports.
TIERS = {
    "key": "order-tiers",
    "title": "Order tiers",
    "type": "webhook",
    "sync": True,
    "nodes": [
        {
            "key": "big",
            "type": "condition",
            "upstream": None,
            "branchIndex": None,
            "config": {
                "rejectOnFalse": False,
                "engine": "formula.js",
                "expression": "ROUND({{$context.body.total}}, 2) > 100 && {{$context.body.items}}",
            },
        },
        _answer("small", "big", 0, "small"),
        {
            "key": "tier",
            "type": "multi-conditions",
            "upstream": "big",
            "branchIndex": 1,
            "config": {
                "continueOnNoMatch": True,
                "conditions": [
                    {"title": "Huge", "engine": "math.js", "expression": "{{$context.body.total}} >= 1000"},
                    {
                        "title": "France",
                        "engine": "formula.js",
                        "expression": '{{$context.body.country}} === "FR"',
                    },
                ],
            },
        },
        _answer("huge", "tier", 1, "huge"),
        _answer("france", "tier", 2, "fr"),
        _answer("other", "tier", 0, "other"),
    ],
}


async def test_expression_conditions_choose_the_branches(make_server: Any, database: dict[str, str]) -> None:
    """Each request takes the branch its expressions choose; the jobs record true/false and the branch."""
    async with make_server(**database) as running:
        server = authorize(running)
        await import_(server, {**TIERS, "enabled": True})
        cases = [
            ({"total": 50, "items": [1]}, "small"),
            ({"total": 500, "items": []}, "other"),  # an empty list is true, as in JavaScript
            ({"total": 500, "items": None}, "small"),
            ({"total": "2000", "items": [1]}, "huge"),
            ({"total": 500, "items": [1], "country": "FR"}, "fr"),
        ]
        for body, tier in cases:
            answer = await server.post("order-tiers", json=body)
            assert (answer.status_code, answer.json()) == (200, {"tier": tier}), body
        jobs = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
        assert [(job.node_key, job.status.value, job.result) for job in jobs[:2]] == [
            ("big", "resolved", True),
            ("tier", "resolved", 2),
        ]
        assert jobs[1].meta["conditions"] == [False, True]


async def test_a_condition_expression_that_fails_is_an_error_job(
    make_server: Any, database: dict[str, str]
) -> None:
    """An expression that cannot be computed fails the execution: 500, and the job says what and where."""
    async with make_server(**database) as running:
        server = authorize(running)
        await import_(server, {**TIERS, "enabled": True})
        answer = await server.post("order-tiers", json={"total": "a lot", "items": [1]})
        assert answer.status_code == 500
        jobs = await server.runtime.store.list_jobs(int(answer.headers["x-hookline-execution"]))
        assert [(job.node_key, job.status.value) for job in jobs] == [("big", "error")]
        assert jobs[0].result == {"message": "at 1: ROUND: needs a number, got 'a lot'", "position": 0}


async def test_a_bad_condition_expression_is_refused_when_saved(server: Server) -> None:
    """A condition or a branch condition whose expression cannot be computed is a 422 at its path."""
    api = authorize(server)
    flow = await create(api)
    nodes = f"/api/workflows/{flow['id']}/nodes"
    bad = {"engine": "formula.js", "expression": "9 ** 9 ** 9 > {{$context.body.total}}"}
    error = error_of(await api.client.post(nodes, json={"type": "condition", "key": "c", "config": bad}), 422)
    assert where(error) == ["nodes[c].config.expression"]
    assert "at 3: the power is too large" in str(error["details"])
    config = {"conditions": [{"engine": "math.js", "expression": "1 >"}]}
    body = {"type": "multi-conditions", "key": "m", "config": config}
    error = error_of(await api.client.post(nodes, json=body), 422)
    assert where(error) == ["nodes[m].config.conditions[0].expression"]
