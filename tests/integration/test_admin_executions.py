"""The admin API's execution endpoints, through HTTP: list, get, cancel, replay and resume."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from hookline.models import JobStatus
from hookline.nodes.base import NodeContext, Outcome
from hookline.types import JsonObject
from tests._workflows import chain
from tests.integration._admin import PAID, authorize, error_of, import_, where
from tests.integration._node_types import CountNode, registered
from tests.integration.conftest import Server, example

AUTH = ("shop", "s3cret")


class FlakyNode(CountNode):
    """Test node: raises while `broken` is set (a third party that is down), else resolves."""

    type: ClassVar[str] = "test-flaky"
    broken: ClassVar[bool] = True

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        await super().run(config, ctx)
        if self.broken:
            raise RuntimeError("the third party is down")
        return Outcome(JobStatus.RESOLVED, "fixed")


@pytest.fixture(autouse=True)
def test_nodes() -> Iterator[None]:
    """Register the test node types, with fresh counters, for one test."""
    CountNode.runs = {}
    FlakyNode.broken = True
    with registered(CountNode(), FlakyNode()):
        yield


async def run_async(api: Server, key: str, **request: Any) -> str:
    """Post to an asynchronous workflow, let the workers finish, and return the execution id."""
    response = await api.post(key, **request)
    assert response.status_code == 200, response.text
    await api.runtime.workers.drain()
    return response.headers["x-hookline-execution"]


async def execution(api: Server, execution_id: str) -> dict[str, Any]:
    """An execution's detail view."""
    response = await api.client.get(f"/api/executions/{execution_id}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def test_get_shows_the_context_answer_and_every_job(api: Server) -> None:
    """The detail view has the trigger data, the answer sent, and each node's job with its timing."""
    flow = await import_(api, example("order-paid.json"))
    response = await api.post(flow["key"], json=PAID, params={"source": "shop"}, auth=AUTH)
    detail = await execution(api, response.headers["x-hookline-execution"])
    assert (detail["status"], detail["workflow_id"], detail["key"]) == ("resolved", flow["id"], flow["key"])
    assert detail["context"]["body"] == PAID
    assert detail["context"]["query"] == {"source": "shop"}
    assert detail["response"]["statusCode"] == 200
    assert detail["response"]["body"] == {"ok": True, "id": 42}
    assert [(job["node_key"], job["status"]) for job in detail["jobs"]] == [
        ("paid", "resolved"),
        ("ok", "resolved"),
    ]
    assert all(job["started_at"] and job["finished_at"] for job in detail["jobs"])


async def test_list_filters_by_key_version_status_and_time(api: Server) -> None:
    """Each filter narrows the list, newest first; several filters combine."""
    first = await import_(api, chain("test-count", "test-flaky"))
    other = await import_(api, chain("test-count"))
    failed = await run_async(api, first["key"])
    FlakyNode.broken = False
    resolved = await run_async(api, first["key"])
    elsewhere = await run_async(api, other["key"])

    async def ids(**params: str) -> list[str]:
        response = await api.client.get("/api/executions", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [elsewhere, resolved, failed]
    assert await ids(workflow=first["key"]) == [resolved, failed]
    assert await ids(workflow_id=other["id"]) == [elsewhere]
    assert await ids(status="error") == [failed]
    assert await ids(workflow=first["key"], status="resolved") == [resolved]
    middle = (await execution(api, resolved))["created_at"]
    assert await ids(since=middle) == [elsewhere, resolved]
    assert await ids(until=middle) == [failed]
    assert await ids(since="2000-01-01T00:00:00") == [elsewhere, resolved, failed]


async def test_list_pages_newest_first_with_next_before(api: Server) -> None:
    """Following `next_before` walks every execution once, newest first, then ends with null."""
    flow = await import_(api, chain("test-count"))
    made = [await run_async(api, flow["key"]) for _ in range(5)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await api.client.get("/api/executions", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]
    assert seen == list(reversed(made))


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"before": "abc"},
        {"before": "99999999999999999999"},
        {"workflow_id": "9999999999999999999"},
        {"since": "yesterday"},
        {"until": "0001-01-01T00:00:00+05:00"},
        {"limit": 0},
        {"limit": 500},
    ],
)
async def test_list_refuses_bad_filters_naming_them(api: Server, params: dict[str, str]) -> None:
    """A filter that cannot mean anything answers 422 naming the query parameter."""
    error = error_of(await api.client.get("/api/executions", params=params), 422)
    assert where(error) == [f"query.{next(iter(params))}"]


@pytest.mark.parametrize(
    ("method", "action"), [("GET", ""), ("POST", "/cancel"), ("POST", "/replay"), ("POST", "/resume")]
)
async def test_an_unknown_execution_answers_404(api: Server, method: str, action: str) -> None:
    """An execution id nothing has, or that is no id, answers 404."""
    for execution_id in ("123", "x1"):
        response = await api.client.request(method, f"/api/executions/{execution_id}{action}")
        assert error_of(response, 404)["code"] == "not_found"


async def test_cancel_stops_a_queued_execution_from_ever_running(make_server: Any) -> None:
    """A queued execution canceled before any worker ran it stays canceled, with no jobs, once workers run."""
    async with make_server(workers=0) as server:
        api = authorize(server)
        flow = await import_(api, chain("test-count"))
        queued = (await api.post(flow["key"])).headers["x-hookline-execution"]
        response = await api.client.post(f"/api/executions/{queued}/cancel")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["finished_at"] is not None) == ("canceled", True)
    async with make_server() as server:  # the same database, now with workers
        api = authorize(server)
        later = await run_async(api, flow["key"])
        assert (await execution(api, later))["status"] == "resolved"
        canceled = await execution(api, queued)
        assert (canceled["status"], canceled["jobs"]) == ("canceled", [])
    assert CountNode.runs == {"n0": 1}


async def test_cancel_of_a_finished_execution_answers_409(api: Server) -> None:
    """Only queued or running executions can be canceled."""
    flow = await import_(api, chain("test-count"))
    done = await run_async(api, flow["key"])
    error = error_of(await api.client.post(f"/api/executions/{done}/cancel"), 409)
    assert error["code"] == "not_cancelable"
    assert (await execution(api, done))["status"] == "resolved"


async def test_replay_of_a_synchronous_execution_runs_at_once(api: Server) -> None:
    """Replay answers 201 with a new, finished execution of the same context and its answer."""
    flow = await import_(api, example("order-paid.json"))
    original = (await api.post(flow["key"], json=PAID, auth=AUTH)).headers["x-hookline-execution"]
    response = await api.client.post(f"/api/executions/{original}/replay")
    assert response.status_code == 201
    replayed = response.json()
    assert replayed["execution"]["id"] != original
    assert replayed["execution"]["status"] == "resolved"
    assert replayed["execution"]["context"] == (await execution(api, original))["context"]
    assert replayed["answer"] == {
        "statusCode": 200,
        "headers": [{"name": "X-Order", "value": "42"}],
        "body": {"ok": True, "id": 42},
    }
    jobs = (await execution(api, replayed["execution"]["id"]))["jobs"]
    assert [job["node_key"] for job in jobs] == ["paid", "ok"]


async def test_replay_of_an_asynchronous_execution_is_queued_then_runs(api: Server) -> None:
    """Replay answers 202 with the new execution, queued or taken by the free worker, and the configured
    answer; the workers then run it."""
    flow = await import_(api, chain("test-count"))
    original = await run_async(api, flow["key"], json={"n": 1})
    response = await api.client.post(f"/api/executions/{original}/replay")
    assert response.status_code == 202
    replayed = response.json()
    assert replayed["execution"]["status"] in ("queued", "started")
    assert replayed["answer"] == {"statusCode": 200, "headers": [], "body": "ok"}
    await api.runtime.workers.drain()
    detail = await execution(api, replayed["execution"]["id"])
    assert detail["status"] == "resolved"
    assert detail["context"]["body"] == {"n": 1}
    assert [job["result"] for job in detail["jobs"]] == [{"run": 2}]


async def test_replay_runs_on_the_current_version(api: Server) -> None:
    """An execution of an old version replays on the version that is current now."""
    old = await import_(api, example("order-paid.json"))
    original = (await api.post(old["key"], json=PAID, auth=AUTH)).headers["x-hookline-execution"]
    new = (await api.client.post(f"/api/workflows/{old['id']}/versions")).json()
    ok = next(n for n in new["nodes"] if n["key"] == "ok")
    changed = {**ok["config"], "body": {"version": 2}}
    await api.client.patch(f"/api/workflows/{new['id']}/nodes/{ok['id']}", json={"config": changed})
    await api.client.post(f"/api/workflows/{new['id']}/enable")
    replayed = (await api.client.post(f"/api/executions/{original}/replay")).json()
    assert replayed["execution"]["workflow_id"] == new["id"]
    assert replayed["answer"]["body"] == {"version": 2}


async def test_resume_reruns_the_failed_node_and_not_the_ones_before(api: Server) -> None:
    """After the cause is fixed, resume continues at the failed node; resolved jobs are kept, not rerun."""
    flow = await import_(api, chain("test-count", "test-flaky", "test-count"))
    failed_id = await run_async(api, flow["key"])
    failed = await execution(api, failed_id)
    assert failed["status"] == "error"
    assert [(j["node_key"], j["status"]) for j in failed["jobs"]] == [("n0", "resolved"), ("n1", "error")]

    FlakyNode.broken = False
    response = await api.client.post(f"/api/executions/{failed_id}/resume")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    await api.runtime.workers.drain()

    resumed = await execution(api, failed_id)
    assert resumed["status"] == "resolved"
    assert [(j["node_key"], j["status"]) for j in resumed["jobs"]] == [
        ("n0", "resolved"),
        ("n1", "resolved"),
        ("n2", "resolved"),
    ]
    assert resumed["jobs"][0]["id"] == failed["jobs"][0]["id"]
    assert CountNode.runs == {"n0": 1, "n1": 2, "n2": 1}


async def test_resume_of_an_execution_that_did_not_fail_answers_409(api: Server) -> None:
    """A resolved execution has nothing to resume."""
    flow = await import_(api, chain("test-count"))
    done = await run_async(api, flow["key"])
    error = error_of(await api.client.post(f"/api/executions/{done}/resume"), 409)
    assert error["code"] == "not_resumable"


async def test_a_resumed_sync_execution_keeps_the_answer_its_caller_got(api: Server) -> None:
    """`response` stays the 500 the caller received; the answer of the resumed run reached nobody."""
    workflow = chain("test-flaky", "response", sync=True)
    workflow["nodes"][1]["config"] = {"statusCode": 200, "body": {"ok": True}}
    flow = await import_(api, workflow)
    answered = await api.post(flow["key"], json={})
    assert answered.status_code == 500
    failed_id = answered.headers["x-hookline-execution"]
    sent = (await execution(api, failed_id))["response"]
    assert sent["statusCode"] == 500

    FlakyNode.broken = False
    assert (await api.client.post(f"/api/executions/{failed_id}/resume")).status_code == 202
    await api.runtime.workers.drain()
    resumed = await execution(api, failed_id)
    assert resumed["status"] == "resolved"
    assert resumed["response"] == sent
