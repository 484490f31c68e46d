"""Every status code of SPEC §3.6 that the webhook trigger gives, through real HTTP requests."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from hookline.store.base import ExecutionFilter
from tests.integration.conftest import Server, example

AUTH = ("shop", "s3cret")
PAID = {"order": {"id": 42, "status": "paid"}}


def _error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) >= {"error"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
async def test_other_methods_answer_405_with_allow(server: Server, method: str) -> None:
    """A method other than POST answers 405 with `Allow: POST` and runs nothing."""
    key = await server.load(example("order-paid.json"))
    response = await server.client.request(method, f"/api/webhook:trigger/{key}", auth=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert _error_code(response) == "method_not_allowed"


async def test_unknown_key_answers_404(server: Server) -> None:
    """A key that no workflow has answers 404 in hookline's JSON error shape."""
    response = await server.post("nosuchkey0000", json=PAID)
    assert response.status_code == 404
    assert _error_code(response) == "not_found"


async def test_a_path_below_a_webhook_url_is_no_webhook_url(server: Server) -> None:
    """A key is one path segment: `/api/webhook:trigger/<key>/more` runs nothing.

    It falls to the admin API, which asks for its token before it says anything about a path.
    """
    key = await server.load(example("order-paid.json"))
    response = await server.client.post(f"/api/webhook:trigger/{key}/more", json=PAID, auth=AUTH)
    assert response.status_code == 401
    assert _error_code(response) == "unauthorized"
    assert await server.runtime.store.list_executions(_all()) == []


async def test_a_client_gone_before_its_body_arrived_gets_no_answer_and_runs_nothing(server: Server) -> None:
    """A disconnect while the body is read ends the request quietly: no answer is sent, nothing runs."""
    key = await server.load(example("order-paid.json"))
    credentials = base64.b64encode(b"shop:s3cret")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/webhook:trigger/{key}",
        "raw_path": f"/api/webhook:trigger/{key}".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"authorization", b"Basic " + credentials), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("hookline.test", 80),
    }
    messages = iter(
        [{"type": "http.request", "body": b'{"order": ', "more_body": True}, {"type": "http.disconnect"}]
    )
    sent: list[Any] = []

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    await server.app(scope, receive, send)
    assert sent == []
    assert await server.runtime.store.list_executions(_all()) == []


async def test_disabled_workflow_answers_404(server: Server) -> None:
    """A workflow whose only version is disabled answers 404."""
    workflow = example("order-paid.json")
    workflow["enabled"] = False
    key = await server.load(workflow)
    response = await server.post(key, json=PAID, auth=AUTH)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"shop:wrong").decode(),
        "Basic " + base64.b64encode(b"other:s3cret").decode(),
        "Basic not-base64!!",
        "Bearer s3cret",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
    ids=["missing", "wrong-password", "wrong-user", "malformed", "other-scheme", "no-colon"],
)
async def test_bad_credentials_answer_401(server: Server, authorization: str | None) -> None:
    """Missing, wrong or malformed credentials answer 401 with a Basic challenge."""
    key = await server.load(example("order-paid.json"))
    headers = {"Authorization": authorization} if authorization else {}
    response = await server.post(key, json=PAID, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="hookline"'
    assert _error_code(response) == "unauthorized"
    executions = await server.runtime.store.list_executions(_all())
    assert executions == []


async def test_credentials_in_the_url_are_accepted(server: Server) -> None:
    """`https://user:pass@host/...` works, because the client turns it into the header."""
    key = await server.load(example("order-paid.json"))
    response = await server.client.post(
        f"http://shop:s3cret@hookline.test/api/webhook:trigger/{key}", json=PAID
    )
    assert response.status_code == 200


async def test_malformed_json_answers_400_and_runs_nothing(server: Server) -> None:
    """A JSON body that does not parse answers 400 and records no execution."""
    key = await server.load(example("order-paid.json"))
    response = await server.post(
        key, content=b'{"order": ', headers={"Content-Type": "application/json"}, auth=AUTH
    )
    assert response.status_code == 400
    assert _error_code(response) == "malformed_json"
    assert await server.runtime.store.list_executions(_all()) == []


async def test_body_over_the_limit_answers_413(make_server: Any) -> None:
    """A body larger than the limit answers 413, whether or not it declares its length."""
    async with make_server(body_limit=100) as server:
        key = await server.load(example("order-paid.json"))
        big = b'{"pad": "' + b"x" * 200 + b'"}'
        declared = await server.post(
            key, content=big, headers={"Content-Type": "application/json"}, auth=AUTH
        )
        assert declared.status_code == 413
        assert _error_code(declared) == "body_too_large"

        async def chunks() -> Any:
            for _ in range(10):
                yield b"x" * 30

        streamed = await server.post(
            key, content=chunks(), headers={"Content-Type": "application/json"}, auth=AUTH
        )
        assert streamed.status_code == 413
        assert await server.runtime.store.list_executions(_all()) == []


async def test_paid_order_takes_the_true_branch(server: Server) -> None:
    """The spec example answers 200 with the templated header and body on a paid order."""
    key = await server.load(example("order-paid.json"))
    response = await server.post(key, json=PAID, auth=AUTH)
    assert response.status_code == 200
    assert response.headers["x-order"] == "42"
    assert response.json() == {"ok": True, "id": 42}
    execution_id = int(response.headers["x-hookline-execution"])
    execution = await server.runtime.store.get_execution(execution_id)
    assert execution is not None
    assert execution.status == "resolved"
    assert [j.node_key for j in await server.runtime.store.list_jobs(execution_id)] == ["paid", "ok"]


async def test_open_order_takes_the_false_branch(server: Server) -> None:
    """The spec example answers 400 `{"ok": false}` when the order is not paid."""
    key = await server.load(example("order-paid.json"))
    response = await server.post(key, json={"order": {"id": 7, "status": "open"}}, auth=AUTH)
    assert response.status_code == 400
    assert response.json() == {"ok": False}
    assert "x-hookline-execution" in response.headers


async def test_sync_run_without_response_node_answers_200(server: Server) -> None:
    """A resolved synchronous run with no Response node answers 200 with its status and id."""
    workflow = _sync_condition(reject_on_false=False)
    key = await server.load(workflow)
    response = await server.post(key, json={"x": 1})
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "resolved", "execution": response.headers["x-hookline-execution"]}


async def test_failed_sync_run_answers_500_without_a_trace(server: Server) -> None:
    """A synchronous run that fails with no Response node answers 500 with status and id."""
    key = await server.load(_sync_condition(reject_on_false=True))
    response = await server.post(key, json={"x": 2})
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "failed"
    assert body["execution"] == response.headers["x-hookline-execution"]
    assert _error_code(response) == "execution_failed"
    assert "Traceback" not in response.text


async def test_an_unexpected_failure_answers_500_and_logs_its_trace(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug inside hookline answers hookline's JSON 500; the trace goes to the log, not to the caller."""
    key = await server.load(example("order-paid.json"))

    async def broken(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.runtime.dispatcher, "run_sync", broken)
    response = await server.post(key, json=PAID, auth=AUTH)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert _error_code(response) == "internal_error"
    assert "disk on fire" not in response.text
    assert "Traceback" not in response.text
    [logged] = [r for r in caplog.records if r.exc_info]
    assert logged.getMessage() == f"POST /api/webhook:trigger/{key} failed"
    assert logged.exc_info is not None
    assert str(logged.exc_info[1]) == "disk on fire"


async def test_async_workflow_answers_ok_by_default_and_runs_later(server: Server) -> None:
    """An async workflow without a configured response answers `200 ok`, then runs."""
    workflow = example("order-paid-async.json")
    del workflow["config"]["response"]
    key = await server.load(workflow)
    response = await server.post(key, json=PAID)
    assert response.status_code == 200
    assert response.text == "ok"
    execution_id = int(response.headers["x-hookline-execution"])
    await server.runtime.workers.drain()
    execution = await server.runtime.store.get_execution(execution_id)
    assert execution is not None
    assert execution.status == "resolved"


async def test_async_workflow_answers_its_templated_response(server: Server) -> None:
    """The configured async response is templated over `$context`."""
    key = await server.load(example("order-paid-async.json"))
    response = await server.post(key, json={"order": {"id": "A-9", "status": "open"}})
    assert response.status_code == 202
    assert response.headers["x-order"] == "A-9"
    assert response.json() == {"accepted": True, "order": "A-9"}
    await server.runtime.workers.drain()
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.status == "failed"
    # The answer that was sent is part of the record, and finishing does not erase it.
    assert execution.response == {
        "statusCode": 202,
        "headers": [{"name": "X-Order", "value": "A-9"}],
        "body": {"accepted": True, "order": "A-9"},
    }


async def test_an_async_header_that_would_split_the_answer_fails_and_queues_nothing(server: Server) -> None:
    """A templated answer header whose value holds a line break is refused (500), not sent; nothing runs."""
    key = await server.load(example("order-paid-async.json"))
    response = await server.post(key, json={"order": {"id": "1\r\nSet-Cookie: x=1", "status": "paid"}})
    assert response.status_code == 500
    assert _error_code(response) == "node_error"
    assert "set-cookie" not in response.headers
    assert await server.runtime.store.list_executions(_all()) == []


async def test_non_json_body_leaves_body_null(server: Server) -> None:
    """A body of another type is accepted, with `$context.body` null."""
    workflow = example("order-paid-async.json")
    key = await server.load(workflow)
    response = await server.post(key, content=b"a=1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 202
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.context["body"] is None


def _sync_condition(*, reject_on_false: bool) -> dict[str, Any]:
    return {
        "title": "one condition",
        "type": "webhook",
        "sync": True,
        "enabled": True,
        "config": {},
        "nodes": [
            {
                "key": "check",
                "type": "condition",
                "upstream": None,
                "branchIndex": None,
                "config": {
                    "rejectOnFalse": reject_on_false,
                    "engine": "basic",
                    "calculation": {"calculator": "equal", "operands": ["{{$context.body.x}}", 1]},
                },
            }
        ],
    }


def _all() -> ExecutionFilter:
    return ExecutionFilter(limit=1000)
