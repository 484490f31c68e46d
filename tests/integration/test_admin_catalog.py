"""`/api/node-types`, `/api/stats/executions`, and the web UI's files at `/`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration._admin import PAID, error_of, import_
from tests.integration.conftest import Server, example


async def test_node_types_say_where_each_type_may_be_used(api: Server) -> None:
    """Every built-in type is listed once, with the Response node for synchronous workflows only."""
    response = await api.client.get("/api/node-types")
    assert response.status_code == 200
    types = {entry["type"]: entry for entry in response.json()}
    assert {"condition", "multi-conditions", "response", "end"} <= set(types)
    assert types["response"] == {"type": "response", "sync_only": True, "async_only": False, "terminal": True}
    assert types["condition"]["sync_only"] is False
    assert types["end"]["terminal"] is True


async def test_stats_count_each_keys_executions_and_failures_since_a_time(api: Server) -> None:
    """Executions are counted per key and status; failures add up; `since` leaves older ones out."""
    flow = await import_(api, {**example("order-paid.json"), "key": "stats-paid"})
    auth = ("shop", "s3cret")
    url = f"/api/webhook:trigger/{flow['key']}"
    for body in (PAID, PAID, {"order": {"id": 1, "status": "open"}}):
        assert (await api.client.post(url, json=body, auth=auth)).status_code in (200, 400)
    stats = (await api.client.get("/api/stats/executions")).json()
    mine = next(entry for entry in stats["workflows"] if entry["key"] == "stats-paid")
    assert mine == {"key": "stats-paid", "total": 3, "failed": 0, "by_status": {"resolved": 3}}
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    response = await api.client.get("/api/stats/executions", params={"since": later})
    assert [entry["key"] for entry in response.json()["workflows"]] == []


async def test_stats_count_failed_errored_and_rejected_runs_as_failures(api: Server) -> None:
    """A run that ends failed counts in `failed`; the statuses are kept apart in `by_status`."""
    failing = {
        "key": "stats-failing",
        "title": "fails",
        "type": "webhook",
        "sync": True,
        "enabled": True,
        "config": {},
        "nodes": [
            {
                "key": "stop",
                "type": "end",
                "upstream": None,
                "branchIndex": None,
                "config": {"endStatus": "failed"},
            }
        ],
    }
    await import_(api, failing)
    assert (await api.client.post("/api/webhook:trigger/stats-failing", json={})).status_code == 500
    stats = (await api.client.get("/api/stats/executions")).json()
    mine = next(entry for entry in stats["workflows"] if entry["key"] == "stats-failing")
    assert mine["failed"] == 1
    assert mine["by_status"] == {"failed": 1}


async def test_stats_refuse_a_time_that_is_not_a_time(api: Server) -> None:
    """`since` must be an ISO time: anything else answers 422 naming it."""
    error = error_of(await api.client.get("/api/stats/executions", params={"since": "yesterday"}), 422)
    assert [d["where"] for d in error["details"]] == ["query.since"]


async def test_the_ui_is_served_at_the_root_with_a_strict_content_policy(server: Server) -> None:
    """`/` serves the UI's page (no token needed to load it), whose scripts may come only from this server."""
    response = await server.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/js/main.js">' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    script = await server.client.get("/js/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


async def test_a_path_that_is_neither_api_nor_ui_answers_404_json(server: Server) -> None:
    """An unknown path outside /api answers 404 in the error shape, not an HTML page."""
    response = await server.client.get("/no/such/file.js")
    assert error_of(response, 404)["code"] == "not_found"
