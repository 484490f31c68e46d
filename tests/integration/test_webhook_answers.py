"""Every status code of docs/reference/status-codes.md that the webhook trigger gives, through real HTTP."""

from __future__ import annotations

import base64
import itertools
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookline.exchange import flow_from_json
from hookline.store.execution_history import ExecutionFilter
from tests.integration._asgi import http_scope
from tests.integration._live_server import LiveServer, hookline_env
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
    headers = [(b"authorization", b"Basic " + credentials), (b"content-type", b"application/json")]
    scope = http_scope("POST", f"/api/webhook:trigger/{key}", headers)
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


async def test_a_body_of_a_type_hookline_does_not_read_leaves_body_null(server: Server) -> None:
    """A body of a type hookline does not read is accepted, with `$context.body` null."""
    workflow = example("order-paid-async.json")
    key = await server.load(workflow)
    response = await server.post(key, content=b"a=1", headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 202
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.context["body"] is None


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"order[id]=5&order[status]=paid"),
        ("application/x-ndjson", b'{"order": {"id": 5, "status": "paid"}}\n'),
    ],
)
async def test_a_form_or_ndjson_body_reaches_the_workflow(
    server: Server, content_type: str, body: bytes
) -> None:
    """A form body (as Slack or Twilio send) takes the branch its fields say; it used to arrive null."""
    workflow = example("order-paid.json")
    if content_type == "application/x-ndjson":  # the condition reads the first line's order
        for node in workflow["nodes"]:
            node["config"] = _replace_in(node["config"], "$context.body.order", "$context.body.0.order")
    key = await server.load(workflow)
    response = await server.post(key, content=body, headers={"Content-Type": content_type}, auth=AUTH)
    assert response.status_code == 200
    assert response.headers["x-order"] == "5"


def _replace_in(value: Any, old: str, new: str) -> Any:
    """A JSON value with `old` replaced by `new` in every string."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_in(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _replace_in(item, old, new) for key, item in value.items()}
    return value


async def test_a_text_body_is_its_text(server: Server) -> None:
    """A `text/*` body is recorded as its text, decoded in its charset."""
    key = await server.load(example("order-paid-async.json"))
    headers = {"Content-Type": "text/plain; charset=iso-8859-1"}
    response = await server.post(key, content="café".encode("latin-1"), headers=headers)
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.context["body"] == "café"


# --- answers that HTTP can carry, decided before anything is recorded --------------------------

# NUL is refused with the request body already (it cannot be stored); the unit tests cover it here.
UNSENDABLE = ["a\x7fb", "a\x0bb", "a\x1bb", "1\r\nSet-Cookie: x=1"]
UNSENDABLE_IDS = ["DEL", "VT", "ESC", "CRLF"]


async def test_an_async_answer_with_non_ascii_text_is_sent_as_utf8(server: Server) -> None:
    """`€42` echoed into an asynchronous answer's header is sent as UTF-8, after exactly one execution."""
    key = await server.load(_echo(sync=False))
    response = await server.post(key, json={"v": "€42"})
    assert response.status_code == 202
    assert _raw(response, b"x-echo") == ["€42".encode()]
    [execution] = await server.runtime.store.list_executions(_all())
    assert str(execution.id) == response.headers["x-hookline-execution"]
    assert execution.response is not None
    assert execution.response["headers"] == [{"name": "X-Echo", "value": "€42"}]


@pytest.mark.parametrize("value", UNSENDABLE, ids=UNSENDABLE_IDS)
async def test_an_async_answer_that_cannot_be_sent_is_refused_and_queues_nothing(
    server: Server, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    """A control character in a header answers `500 answer_invalid` naming it, queues nothing, logs why."""
    key = await server.load(_echo(sync=False))
    with caplog.at_level(logging.WARNING, logger="hookline.api.errors"):
        response = await server.post(key, json={"v": value})
    assert response.status_code == 500
    assert _error_code(response) == "answer_invalid"
    assert "header 'X-Echo' holds the control character" in response.json()["error"]["message"]
    assert "set-cookie" not in response.headers
    assert await server.runtime.store.list_executions(_all()) == []
    [warning] = [r for r in caplog.records if r.name == "hookline.api.errors"]
    assert warning.levelno == logging.WARNING
    assert key in warning.getMessage()
    assert "'X-Echo'" in warning.getMessage()


async def test_a_sync_answer_with_non_ascii_text_is_sent_as_utf8(server: Server) -> None:
    """`€42` echoed into a Response node's header is sent as UTF-8, and the run is resolved."""
    key = await server.load(_echo(sync=True))
    response = await server.post(key, json={"v": "€42"})
    assert response.status_code == 200
    assert _raw(response, b"x-echo") == ["€42".encode()]
    assert response.json() == {"v": "€42"}
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.status == "resolved"


@pytest.mark.parametrize("value", UNSENDABLE, ids=UNSENDABLE_IDS)
async def test_a_sync_answer_that_cannot_be_sent_fails_the_run_as_recorded(
    server: Server, value: str
) -> None:
    """A Response node whose answer cannot be sent is an error job; the caller gets the run's recorded 500."""
    key = await server.load(_echo(sync=True))
    response = await server.post(key, json={"v": value})
    assert response.status_code == 500
    assert _error_code(response) == "execution_failed"
    assert response.json()["status"] == "error"
    assert "set-cookie" not in response.headers
    execution_id = int(response.headers["x-hookline-execution"])
    execution = await server.runtime.store.get_execution(execution_id)
    assert execution is not None
    assert execution.status == "error"
    assert execution.error is not None
    assert "header 'X-Echo' holds the control character" in execution.error
    assert execution.response == {"statusCode": 500, "headers": [], "body": response.json()}
    [job] = await server.runtime.store.list_jobs(execution_id)
    assert job.status == "error"


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
async def test_framing_headers_stored_before_they_were_refused_are_dropped(
    server: Server, sync: bool
) -> None:
    """A workflow stored with `Content-Length` or `Connection` headers is framed by hookline alone."""
    flow = flow_from_json(_echo(sync=sync))
    framing = [
        {"name": "Content-Length", "value": "1"},
        {"name": "Transfer-Encoding", "value": "chunked"},
        {"name": "Connection", "value": "close"},
    ]
    config = flow.nodes[0].config if sync else flow.workflow.config["response"]
    config["headers"] = [*framing, *config["headers"]]
    await server.runtime.store.add_flow(flow)
    server.runtime.flows.forget()
    response = await server.post(flow.workflow.key, json={"v": "x"})
    assert response.status_code == (200 if sync else 202)
    assert _raw(response, b"content-length") == [str(len(response.content)).encode()]
    assert _raw(response, b"transfer-encoding") == _raw(response, b"connection") == []
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    assert execution.response is not None
    assert execution.response["headers"] == [{"name": "X-Echo", "value": "x"}]


async def test_a_duplicate_repeats_a_non_ascii_answer_as_it_was_sent(server: Server) -> None:
    """The repeat of an idempotency key gets the original's `€42` header, marked duplicate; one execution."""
    workflow = _echo(sync=False)
    workflow["options"] = {"dedupe": {"source": "headers.idempotency-key"}}
    key = await server.load(workflow)
    first, second = [
        await server.post(key, json={"v": "€42"}, headers={"Idempotency-Key": "k-1"}) for _ in range(2)
    ]
    assert (first.status_code, second.status_code) == (202, 202)
    assert _raw(first, b"x-echo") == _raw(second, b"x-echo") == ["€42".encode()]
    assert second.headers["x-hookline-duplicate"] == "true"
    assert len(await server.runtime.store.list_executions(_all())) == 1


async def _answers(server: Server) -> dict[str, httpx.Response]:
    """One answer of each kind the webhook URL gives, by name."""
    sync_key = await server.load(_echo(sync=True, content_type="text/html"))
    async_key = await server.load(_echo(sync=False))
    default = _echo(sync=False)
    del default["config"]["response"]
    default_key = await server.load(default)
    passing, failing = [await server.load(_sync_condition(reject_on_false=r)) for r in (False, True)]
    deduplicated = _echo(sync=False)
    deduplicated["options"] = {"dedupe": {"source": "headers.idempotency-key"}}
    dedupe_key = await server.load(deduplicated)
    once = {"Idempotency-Key": "k-1"}
    return {
        "response node": await server.post(sync_key, json={"v": "<script>alert(1)</script>"}),
        "configured async": await server.post(async_key, json={"v": "1"}),
        "default async": await server.post(default_key, json={"v": "1"}),
        "resolved without a response node": await server.post(passing, json={"x": 1}),
        "failed run": await server.post(failing, json={"x": 2}),
        "original": await server.post(dedupe_key, json={"v": "1"}, headers=once),
        "duplicate": await server.post(dedupe_key, json={"v": "1"}, headers=once),
        "answer_invalid": await server.post(async_key, json={"v": "\x7f"}),
        "not_found": await server.post("nosuchkey0000", json={}),
        "method_not_allowed": await server.client.get(f"/api/webhook:trigger/{async_key}"),
        "malformed_json": await server.post(
            async_key, content=b"{", headers={"Content-Type": "application/json"}
        ),
    }


async def test_every_webhook_answer_is_sandboxed_and_never_sniffed(server: Server) -> None:
    """Configured, default, Response node, duplicate and error answers all carry the sandbox and nosniff."""
    answers = await _answers(server)
    unprotected = {
        name: dict(response.headers)
        for name, response in answers.items()
        if response.headers.get_list("content-security-policy") != ["sandbox; default-src 'none'"]
        or response.headers.get_list("x-content-type-options") != ["nosniff"]
    }
    assert unprotected == {}
    assert answers["response node"].headers["content-type"] == "text/html"
    assert answers["duplicate"].headers["x-hookline-duplicate"] == "true"


async def test_a_workflows_own_security_policy_stays_and_hookline_adds_the_sandbox(server: Server) -> None:
    """A Response node's own `Content-Security-Policy` is sent, then hookline's, which only narrows it."""
    workflow = _echo(sync=True, content_type="text/html")
    workflow["nodes"][0]["config"]["headers"].append(
        {"name": "Content-Security-Policy", "value": "img-src *"}
    )
    key = await server.load(workflow)
    response = await server.post(key, json={"v": "1"})
    assert response.headers.get_list("content-security-policy") == [
        "img-src *",
        "sandbox; default-src 'none'",
    ]


async def test_a_live_server_answers_any_echoed_header_text_as_it_records_it(tmp_path: Path) -> None:
    """Through uvicorn, `€42` is sent as UTF-8; DEL or VT get the recorded 500, never a dropped connection."""
    env = hookline_env(tmp_path / "data", HOOKLINE_ADMIN_TOKEN="t")
    async with LiveServer(env, tmp_path / "serve.log") as live:
        await live.start()
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
            keys = {}
            for sync in (True, False):
                imported = await client.post(
                    "/api/workflows/import", json=_echo(sync=sync), headers={"Authorization": "Bearer t"}
                )
                assert imported.status_code == 201, imported.text
                keys[sync] = imported.json()["key"]
            seen = []
            for sync, value in itertools.product((True, False), ("€42", "a\x7fb", "a\x0bb")):
                response = await client.post(f"/api/webhook:trigger/{keys[sync]}", json={"v": value})
                seen.append((sync, value, response.status_code, _raw(response, b"x-echo")))
    assert seen == [
        (True, "€42", 200, ["€42".encode()]),
        (True, "a\x7fb", 500, []),
        (True, "a\x0bb", 500, []),
        (False, "€42", 202, ["€42".encode()]),
        (False, "a\x7fb", 500, []),
        (False, "a\x0bb", 500, []),
    ]


def _echo(*, sync: bool, content_type: str | None = None) -> dict[str, Any]:
    """A workflow whose answer echoes the body's `v` in its `X-Echo` header (and a sync one in its body)."""
    headers = [{"name": "X-Echo", "value": "{{$context.body.v}}"}]
    if content_type is not None:
        headers.append({"name": "Content-Type", "value": content_type})
    if sync:
        answer = {"statusCode": 200, "headers": headers, "body": {"v": "{{$context.body.v}}"}}
        if content_type == "text/html":
            answer["body"] = "<p>{{$context.body.v}}</p>"
        node = {"key": "answer", "type": "response", "config": answer}
        config: dict[str, Any] = {}
    else:
        node = {"key": "done", "type": "end", "config": {"endStatus": "resolved"}}
        config = {"response": {"statusCode": 202, "headers": headers, "body": {"accepted": True}}}
    node.update(upstream=None, branchIndex=None)
    return {
        "title": "echo",
        "type": "webhook",
        "sync": sync,
        "enabled": True,
        "config": config,
        "nodes": [node],
    }


def _raw(response: httpx.Response, name: bytes) -> list[bytes]:
    """The raw values of one header of an answer, as they came over the wire."""
    return [value for key, value in response.headers.raw if key.lower() == name]


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
