"""Listen for a test request through real HTTP: arm, capture the next request, expire, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookline.api.auth import TOKEN_FILE
from hookline.store.execution_history import ExecutionFilter
from hookline.trigger.context import REDACTED
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration._asgi import http_scope
from tests.integration.conftest import Server, example

AUTH = ("shop", "s3cret")
PAID = {"order": {"id": 42, "status": "paid"}, "items": [{"sku": "a"}, {"sku": "b"}]}


async def version_id(server: Server, key: str) -> str:
    """The id of the current version of a key, as the admin API names it."""
    flow = await server.runtime.store.get_current_flow(key)
    assert flow is not None
    return str(flow.workflow.id)


async def armed(server: Server, key: str) -> bool:
    """Whether the store reports a capture of `key` armed (what every process reads with the workflow)."""
    flow = await server.runtime.store.get_live_flow(key)
    return flow is not None and flow.capture_until is not None


async def executions(server: Server) -> int:
    """How many executions the server recorded, queued or finished."""
    return len(await server.runtime.store.list_executions(ExecutionFilter(limit=100)))


@pytest.fixture
async def admin(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """A second client of the same app that sends the admin token (the first one calls webhooks)."""
    token = (server.runtime.settings.data_dir / TOKEN_FILE).read_text().strip()
    transport = httpx.ASGITransport(app=server.app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hookline.test", headers=headers
    ) as client:
        yield client


async def listen(
    server: Server, admin: httpx.AsyncClient, key: str, **body: Any
) -> asyncio.Task[httpx.Response]:
    """Start `POST /capture` for the key's workflow, and return once the capture is armed."""
    path = f"/api/workflows/{await version_id(server, key)}/capture"
    task = asyncio.create_task(admin.post(path, json=body, timeout=30))
    await wait_until(lambda: armed(server, key), "the capture is armed", within=10)
    return task


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_the_next_request_is_captured_with_its_paths_and_runs_nothing(
    server: Server, admin: httpx.AsyncClient, sync: bool
) -> None:
    """The request is answered 202 {"captured": true}; the listener gets it and its three path lists."""
    workflow = example("order-paid.json")
    if not sync:  # the same trigger in front of an asynchronous workflow
        workflow = {**chain("end"), "config": workflow["config"]}
    key = await server.load(workflow)
    listening = await listen(server, admin, key, timeout=20)
    answer = await server.post(
        key, params={"a[0][b]": "1", "source": "shop"}, json=PAID, auth=AUTH, headers={"X-Request-Id": "r-1"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"captured": True}
    assert answer.headers["content-security-policy"].startswith("sandbox")
    assert "x-hookline-execution" not in answer.headers
    captured = (await listening).json()
    assert captured["status"] == "captured"
    request = captured["request"]
    assert (request["method"], request["contentType"]) == ("POST", "application/json")
    assert request["headers"]["authorization"] == REDACTED
    assert request["headers"]["x-request-id"] == "r-1"
    assert request["query"] == {"a": [{"b": "1"}], "source": "shop"}
    assert request["body"] == PAID
    assert request["receivedAt"].startswith("20")
    paths = captured["paths"]
    assert "x-request-id" in paths["headers"]
    assert "authorization" not in paths["headers"]
    assert paths["query"] == ["a", "a[0]", "a[0].b", "source"]
    assert paths["body"] == ["order", "order.id", "order.status", "items", "items[0]", "items[0].sku"]
    assert await executions(server) == 0, "a captured request must run and queue nothing"
    again = await server.post(key, json=PAID, auth=AUTH)
    assert again.status_code == 200, "one capture takes one request: the next one runs"
    assert await executions(server) == 1


async def test_a_refused_request_does_not_consume_the_capture(
    server: Server, admin: httpx.AsyncClient
) -> None:
    """Wrong credentials or a malformed body are refused as usual; the next good request is captured."""
    key = await server.load(example("order-paid.json"))
    listening = await listen(server, admin, key, timeout=20)
    assert (await server.post(key, json=PAID, auth=("shop", "wrong"))).status_code == 401
    malformed = await server.post(key, content=b"{", headers={"Content-Type": "application/json"}, auth=AUTH)
    assert malformed.status_code == 400
    assert (await server.post(key, json={"n": 2}, auth=AUTH)).status_code == 202
    captured = (await listening).json()
    assert captured["request"]["body"] == {"n": 2}
    assert await executions(server) == 0


async def test_a_form_body_is_captured_parsed_with_its_nested_paths(
    server: Server, admin: httpx.AsyncClient
) -> None:
    """A form-encoded body arrives parsed by the `qs` rules, its paths dotted as for JSON."""
    key = await server.load(chain("end"))
    listening = await listen(server, admin, key, timeout=20)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await server.post(key, content=b"order[id]=5&order[tags][0]=a", headers=form)
    assert answer.status_code == 202, answer.text
    captured = (await listening).json()
    assert captured["request"]["contentType"] == "application/x-www-form-urlencoded"
    assert captured["request"]["body"] == {"order": {"id": "5", "tags": ["a"]}}
    assert captured["paths"]["body"] == ["order", "order.id", "order.tags", "order.tags[0]"]


async def test_a_capture_without_a_request_expires(server: Server, admin: httpx.AsyncClient) -> None:
    """No request within the timeout: the answer is {"status": "expired"} and the capture is gone."""
    key = await server.load(chain("end"))
    response = await admin.post(
        f"/api/workflows/{await version_id(server, key)}/capture", json={"timeout": 1}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "expired"}
    assert not await armed(server, key)
    assert (await server.post(key, json={"n": 1})).status_code == 200
    assert await executions(server) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [({"timeout": 0}, 422), ({"timeout": 301}, 422), ({"timeout": "5"}, 422), ({"other": 1}, 422)],
)
async def test_a_bad_timeout_is_refused(
    server: Server, admin: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    """The timeout is a number of seconds from 1 to 300, and nothing else may be given."""
    key = await server.load(chain("end"))
    response = await admin.post(f"/api/workflows/{await version_id(server, key)}/capture", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]
    assert not await armed(server, key)


async def test_an_unknown_workflow_answers_404(admin: httpx.AsyncClient) -> None:
    """Listening on a version id that nothing has is a 404, as for the other workflow routes."""
    response = await admin.post("/api/workflows/12345/capture", json={"timeout": 1})
    assert response.status_code == 404, response.text


async def test_a_listener_that_leaves_cancels_its_capture(server: Server) -> None:
    """When the listening client disconnects, its capture is deleted and the next request runs."""
    key = await server.load(chain("end"))
    path = f"/api/workflows/{await version_id(server, key)}/capture"
    token = (server.runtime.settings.data_dir / TOKEN_FILE).read_text().strip()
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")]
    scope = http_scope("POST", path, headers)
    body = [{"type": "http.request", "body": b'{"timeout": 30}', "more_body": False}]
    leave = asyncio.Event()

    async def receive() -> Any:
        if body:
            return body.pop()
        await leave.wait()  # the client stays until the test lets it go
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        """Whatever the app sends goes nowhere: the client has left."""

    call = asyncio.create_task(server.app(scope, receive, send))
    await wait_until(lambda: armed(server, key), "the capture is armed", within=10)
    leave.set()
    await asyncio.wait_for(call, 10)
    assert not await armed(server, key)
    assert (await server.post(key, json={"n": 1})).status_code == 200
    assert await executions(server) == 1
