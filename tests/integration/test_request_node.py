"""The request node against a real HTTP server on 127.0.0.1, through the guarded outbound client."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest

from hookline.expressions.templates import render
from hookline.models import Job, JobStatus, Node, Workflow
from hookline.nodes.base import Outcome, Resources
from hookline.nodes.request import RequestNode
from hookline.outbound import open_http_client
from hookline.types import JsonObject, JsonValue
from tests._receiver import Receiver, Reply

EXECUTION_ID = 4242
NODE_KEY = "post"
KEY = f"{EXECUTION_ID}-{NODE_KEY}"
SCOPE = {
    "$context": {"body": {"id": 7, "name": "Ada Lovelace", "note": "a&b", "items": [1, 2]}},
    "$env": {"TOKEN": "env-s3cret"},
}


@dataclass
class Context:
    """A NodeContext for one run of the node: a real client, the real template engine."""

    http: httpx.AsyncClient
    scope: Mapping[str, Any] = field(default_factory=lambda: SCOPE)
    workflow: Workflow = field(default_factory=lambda: Workflow(id=1, key="wf", title="t", sync=False))
    node: Node = field(default_factory=lambda: Node(id=9, workflow_id=1, key=NODE_KEY, type="request"))
    execution_id: int = EXECUTION_ID
    step_key: str = NODE_KEY
    job_id: int = 77
    attempt: int = 1
    previous: Job | None = None
    deadline: float | None = None
    log: logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.LoggerAdapter(logging.getLogger("test.request"), {})
    )

    @property
    def resources(self) -> Resources:
        """The shared outbound client."""
        return Resources(http=self.http)

    def render(self, value: JsonValue) -> JsonValue:
        """Resolve placeholders against the scope."""
        return render(value, self.scope)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running receiver, closed after the test."""
    server = Receiver()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The outbound client, allowed to reach 127.0.0.1 (the receiver) and nothing else private."""
    http = open_http_client(["127.0.0.1"])
    yield http
    await http.aclose()


@pytest.fixture
async def strict_client() -> AsyncIterator[httpx.AsyncClient]:
    """The outbound client with an empty allow-list, as a server gets it by default."""
    http = open_http_client()
    yield http
    await http.aclose()


async def run(http: httpx.AsyncClient, config: JsonObject, **context: Any) -> Outcome:
    """Run the node once with a fresh context."""
    return await RequestNode().run(config, Context(http, **context))


async def test_json_body_is_sent_rendered(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """The default is a POST of JSON; placeholders keep their types; the answer's JSON is parsed."""
    receiver.handler = lambda seen: Reply(201, body=b'{"id": "o-1", "n": [1, 2]}')
    config = {"url": receiver.url(), "data": {"id": "{{$context.body.id}}", "who": "{{$context.body.name}}"}}
    outcome = await run(client, config)
    seen = receiver.seen[0]
    assert (seen.method, seen.body) == ("POST", b'{"id":7,"who":"Ada Lovelace"}')
    assert seen.header("content-type") == "application/json"
    assert outcome.status is JobStatus.RESOLVED
    assert outcome.result == {
        "status": 201,
        "statusText": "Created",
        "headers": {"connection": "close", "content-type": "application/json", "content-length": "26"},
        "data": {"id": "o-1", "n": [1, 2]},
    }


@pytest.mark.parametrize(
    ("content_type", "data", "body", "sent_type"),
    [
        (
            "form",
            {"name": "{{$context.body.name}}", "note": "{{$context.body.note}}"},
            b"name=Ada+Lovelace&note=a%26b",
            "application/x-www-form-urlencoded",
        ),
        (
            "application/x-www-form-urlencoded",
            [{"name": "id", "value": "{{$context.body.id}}"}],
            b"id=7",
            "application/x-www-form-urlencoded",
        ),
        ("xml", "<order id='{{$context.body.id}}'/>", b"<order id='7'/>", "application/xml"),
        ("text/xml", "<a>{{$context.body.note}}</a>", b"<a>a&b</a>", "application/xml"),
        (
            "text",
            "Hi {{$context.body.name}}, {{$context.body.items}}",
            b"Hi Ada Lovelace, [1,2]",
            "text/plain; charset=utf-8",
        ),
        ("application/json", ["{{$context.body.items}}"], b"[[1,2]]", "application/json"),
    ],
)
async def test_every_body_type_arrives_byte_for_byte(
    receiver: Receiver, client: httpx.AsyncClient, content_type: str, data: Any, body: bytes, sent_type: str
) -> None:
    """Form, XML, text and JSON bodies (both spellings of the type) arrive as written, with their type."""
    await run(client, {"url": receiver.url(), "contentType": content_type, "data": data})
    assert receiver.seen[0].body == body
    assert receiver.seen[0].header("content-type") == sent_type


async def test_multipart_body_arrives_byte_for_byte(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """Fields and a file part, with the boundary the Content-Type names."""
    data = [
        {"name": "id", "value": "{{$context.body.id}}"},
        {
            "name": "notes",
            "value": "{{$context.body.name}}",
            "filename": "n.txt",
            "contentType": "text/plain",
        },
    ]
    await run(client, {"url": receiver.url(), "contentType": "multipart", "data": data})
    seen = receiver.seen[0]
    content_type = seen.header("content-type") or ""
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1].encode()
    assert seen.body == (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="id"\r\n\r\n7\r\n'
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="notes"; filename="n.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nAda Lovelace\r\n"
        b"--" + boundary + b"--\r\n"
    )


async def test_headers_params_and_method_are_templated(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """Header values and query parameters are rendered; parameters join the URL's own query."""
    config = {
        "url": receiver.url("/orders/{{$context.body.id}}?a=1"),
        "method": "get",
        "headers": [{"name": "X-Order", "value": "order {{$context.body.id}}"}],
        "params": [
            {"name": "who", "value": "{{$context.body.name}}"},
            {"name": "n", "value": "{{$context.body.id}}"},
        ],
    }
    await run(client, config)
    seen = receiver.seen[0]
    assert (seen.method, seen.target) == ("GET", "/orders/7?a=1&who=Ada+Lovelace&n=7")
    assert seen.header("x-order") == "order 7"
    assert seen.header("idempotency-key") == KEY


async def test_idempotency_header_can_be_renamed_or_off(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    """`idempotencyKey` names the header; false sends none."""
    await run(client, {"url": receiver.url(), "idempotencyKey": "X-Request-Id"})
    await run(client, {"url": receiver.url(), "idempotencyKey": False})
    assert receiver.seen[0].header("x-request-id") == KEY
    assert receiver.seen[0].header("idempotency-key") is None
    assert receiver.seen[1].header("idempotency-key") is None


async def test_503_503_200_is_one_job_with_three_attempts(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    """The node asks to be called again twice, with its attempts as state; every call has the same key."""
    statuses = iter([503, 503, 200])
    receiver.handler = lambda seen: Reply(next(statuses))
    config = {"url": receiver.url(), "retry": {"attempts": 3, "backoff": 100, "maxDelay": 1000}}
    previous: Job | None = None
    outcomes = []
    for _ in range(3):
        before = datetime.now(UTC)
        outcome = await run(client, config, previous=previous)
        outcomes.append(outcome)
        if outcome.wait is not None:
            assert before <= outcome.wait.until <= datetime.now(UTC) + timedelta(seconds=1)
            previous = Job(77, EXECUTION_ID, 9, NODE_KEY, JobStatus.PENDING, outcome.result)
    assert [o.status for o in outcomes] == [JobStatus.PENDING, JobStatus.PENDING, JobStatus.RESOLVED]
    assert [s.header("idempotency-key") for s in receiver.seen] == [KEY, KEY, KEY]
    assert outcomes[1].result["attempts"] == [{"status": 503}, {"status": 503}]  # type: ignore[index,call-overload]
    assert outcomes[2].meta["attempts"] == [{"status": 503}, {"status": 503}, {"status": 200}]
    assert outcomes[2].result["data"] == {"ok": True}  # type: ignore[index,call-overload]


async def test_retries_run_out_as_a_failed_job(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """The last failure is the result, with a message that counts the attempts."""
    receiver.handler = lambda seen: Reply(503, body=b'{"busy": true}')
    config = {"url": receiver.url(), "retry": {"attempts": 2, "backoff": 0}}
    first = await run(client, config)
    previous = Job(77, EXECUTION_ID, 9, NODE_KEY, JobStatus.PENDING, first.result)
    last = await run(client, config, previous=previous)
    assert last.status is JobStatus.FAILED
    assert last.result["status"] == 503  # type: ignore[index,call-overload]
    assert last.result["data"] == {"busy": True}  # type: ignore[index,call-overload]
    assert last.result["message"] == "the server answered 503 Service Unavailable (after 2 attempts)"  # type: ignore[index,call-overload]


async def test_a_status_outside_on_status_is_not_retried(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    """A 400 is final even with attempts left."""
    receiver.handler = lambda seen: Reply(400)
    outcome = await run(client, {"url": receiver.url(), "retry": {"attempts": 5}})
    assert outcome.status is JobStatus.FAILED
    assert len(receiver.seen) == 1


DATE = format_datetime(datetime(2030, 1, 1, tzinfo=UTC), usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "max_delay", "seconds"),
    [("7", 60_000, 7.0), ("3600", 2000, 2.0), (DATE, 5000, 5.0)],
)
async def test_retry_after_sets_the_wait(
    receiver: Receiver, client: httpx.AsyncClient, retry_after: str, max_delay: int, seconds: float
) -> None:
    """Retry-After (seconds or an HTTP date) replaces the back-off, capped by maxDelay."""
    receiver.handler = lambda seen: Reply(429, headers=[("Retry-After", retry_after)])
    config = {"url": receiver.url(), "retry": {"attempts": 2, "backoff": 0, "maxDelay": max_delay}}
    before = datetime.now(UTC)
    outcome = await run(client, config)
    after = datetime.now(UTC)
    assert outcome.wait is not None
    assert before + timedelta(seconds=seconds) <= outcome.wait.until <= after + timedelta(seconds=seconds)


async def test_retry_after_as_a_date_is_waited_for(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """An HTTP date within maxDelay is the moment of the next attempt."""
    when = (datetime.now(UTC) + timedelta(seconds=30)).replace(microsecond=0)
    receiver.handler = lambda seen: Reply(503, headers=[("Retry-After", format_datetime(when, usegmt=True))])
    outcome = await run(client, {"url": receiver.url(), "retry": {"attempts": 2, "maxDelay": 60_000}})
    assert outcome.wait is not None
    assert abs(outcome.wait.until - when) < timedelta(milliseconds=1)


async def test_a_sync_retry_past_the_deadline_fails_now(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    """In a synchronous workflow a wait that would outlast its timeout is a failure saying so."""
    receiver.handler = lambda seen: Reply(503, headers=[("Retry-After", "30")])
    sync = Workflow(id=1, key="wf", title="t", sync=True)
    config = {"url": receiver.url(), "retry": {"attempts": 3}}
    outcome = await run(client, config, workflow=sync, deadline=time.monotonic() + 5)
    assert outcome.status is JobStatus.FAILED
    assert "would come after the synchronous workflow's timeout" in outcome.result["message"]  # type: ignore[index,call-overload]


async def test_a_timeout_is_a_failed_job(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """No answer within `timeout` ms: a failed job with a message."""
    receiver.handler = lambda seen: Reply(hang=True)
    outcome = await run(client, {"url": receiver.url(), "timeout": 200})
    assert outcome.status is JobStatus.FAILED
    assert outcome.result == {"message": "no complete response within 200 ms"}


async def test_a_timeout_with_network_retries_waits(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """A timeout is a network error: with attempts left, the node asks to be called again."""
    receiver.handler = lambda seen: Reply(hang=True)
    outcome = await run(client, {"url": receiver.url(), "timeout": 100, "retry": {"attempts": 2}})
    assert outcome.status is JobStatus.PENDING
    assert outcome.result["attempts"] == [{"error": "no complete response within 100 ms"}]  # type: ignore[index,call-overload]


async def test_a_refused_connection_is_a_failed_job(client: httpx.AsyncClient) -> None:
    """Nothing listens: a connect error, not retried when onNetworkError is false."""
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    config = {"url": f"http://127.0.0.1:{port}/", "retry": {"attempts": 3, "onNetworkError": False}}
    outcome = await run(client, config)
    assert outcome.status is JobStatus.FAILED
    assert outcome.result["message"].startswith("connect error")  # type: ignore[index,call-overload]


async def test_loopback_by_name_is_refused(receiver: Receiver, strict_client: httpx.AsyncClient) -> None:
    """`localhost` resolves to 127.0.0.1: refused before connecting, with how to allow it."""
    outcome = await run(strict_client, {"url": receiver.url(host="localhost"), "retry": {"attempts": 3}})
    assert outcome.status is JobStatus.FAILED
    message = outcome.result["message"]  # type: ignore[index,call-overload]
    assert message.startswith("refused to connect to 127.0.0.1 (localhost resolves to it)")
    assert "HOOKLINE_REQUEST_ALLOW=localhost" in message
    assert receiver.seen == []


async def test_loopback_by_address_is_refused(receiver: Receiver, strict_client: httpx.AsyncClient) -> None:
    """The default client reaches no loopback address."""
    outcome = await run(strict_client, {"url": receiver.url()})
    assert "HOOKLINE_REQUEST_ALLOW=127.0.0.1" in outcome.result["message"]  # type: ignore[index,call-overload]
    assert receiver.seen == []


async def test_an_allowed_host_name_is_reached(receiver: Receiver) -> None:
    """Allowing a name lets it through whatever it resolves to."""
    http = open_http_client(["localhost"])
    try:
        outcome = await run(http, {"url": receiver.url(host="localhost")})
    finally:
        await http.aclose()
    assert outcome.status is JobStatus.RESOLVED


@pytest.mark.parametrize(
    ("location", "refused"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254: not a public address (cloud metadata)",
        ),
        ("http://10.0.0.1/", "10.0.0.1: not a public address (private)"),
        (
            "http://[::ffff:127.0.0.2]:{port}/",
            "::ffff:127.0.0.2: not a public address (loopback, as IPv4 inside IPv6)",
        ),
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(
    receiver: Receiver, location: str, refused: str
) -> None:
    """Each hop is checked where it connects: the allowed first hop may not lead elsewhere."""
    target = location.replace("{port}", str(receiver.port))
    receiver.handler = lambda seen: Reply(302, headers=[("Location", target)], body=b"")
    http = open_http_client(["localhost"])  # the name only: 127.0.0.1 itself is not allowed
    try:
        outcome = await run(http, {"url": receiver.url(host="localhost")})
    finally:
        await http.aclose()
    assert outcome.status is JobStatus.FAILED
    assert refused in outcome.result["message"]  # type: ignore[index,call-overload]
    assert len(receiver.seen) == 1


async def test_a_redirect_to_an_allowed_place_is_followed(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    """A redirect that stays within what is allowed is followed (a 302 POST becomes a GET)."""
    receiver.handler = lambda seen: (
        Reply(302, headers=[("Location", "/there")], body=b"")
        if seen.target == "/hook"
        else Reply(200, body=b"[]")
    )
    outcome = await run(client, {"url": receiver.url()})
    assert [(s.method, s.target) for s in receiver.seen] == [("POST", "/hook"), ("GET", "/there")]
    assert outcome.result["data"] == []  # type: ignore[index,call-overload]


async def test_a_response_over_the_limit_fails(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """A declared length over maxResponseBytes fails before reading; an endless body once past it."""
    receiver.handler = lambda seen: Reply(body=b"x" * 5000)
    declared = await run(client, {"url": receiver.url(), "maxResponseBytes": 1000})
    receiver.handler = lambda seen: Reply(endless=True)
    endless = await run(client, {"url": receiver.url(), "maxResponseBytes": 100_000})
    assert declared.status is endless.status is JobStatus.FAILED
    assert declared.result == {
        "message": "the response declares 5000 bytes, more than maxResponseBytes (1000)"
    }
    assert endless.result == {"message": "the response is larger than maxResponseBytes (100000 bytes)"}


async def test_only_data_gives_the_data(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """With onlyData the result is the response's data alone."""
    receiver.handler = lambda seen: Reply(headers=[("Content-Type", "text/plain")], body=b"thanks")
    outcome = await run(client, {"url": receiver.url(), "onlyData": True})
    assert outcome.result == "thanks"


async def test_binary_data_is_base64(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """Bytes that are no text are kept as base64, flagged."""
    receiver.handler = lambda seen: Reply(headers=[("Content-Type", "image/png")], body=b"\x89PNG\x00")
    outcome = await run(client, {"url": receiver.url()})
    assert outcome.result["data"] == "iVBORwA="  # type: ignore[index,call-overload]
    assert outcome.result["dataEncoding"] == "base64"  # type: ignore[index,call-overload]


async def test_ignore_fail_resolves_an_error_status(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """A 404 is a failed job, or a resolved one under ignoreFail; both hold the response."""
    receiver.handler = lambda seen: Reply(404, body=b'{"error": "none"}')
    failed = await run(client, {"url": receiver.url()})
    ignored = await run(client, {"url": receiver.url(), "ignoreFail": True, "onlyData": True})
    assert failed.status is JobStatus.FAILED
    assert ignored.status is JobStatus.RESOLVED
    assert failed.result == ignored.result
    assert ignored.result["data"] == {"error": "none"}  # type: ignore[index,call-overload]


async def test_secrets_are_sent_but_never_recorded(receiver: Receiver, client: httpx.AsyncClient) -> None:
    """The receiver gets the real values; the job (result, meta, pending state) holds none of them."""
    receiver.handler = lambda seen: Reply(503)
    config = {
        "url": receiver.url().replace("http://", "http://user:pw-s3cret@"),
        "headers": [
            {"name": "Authorization", "value": "Bearer tok-s3cret"},
            {"name": "Cookie", "value": "sid=cookie-s3cret"},
            {"name": "X-Api-Key", "value": "key-s3cret"},
            {"name": "X-Signature", "value": "{{$env.TOKEN}}"},
            {"name": "X-Visible", "value": "shown"},
        ],
        "params": [{"name": "token", "value": "{{ $env.TOKEN }}"}],
        "retry": {"attempts": 2},
    }
    pending = await run(client, config)
    seen = receiver.seen[0]
    assert seen.header("x-api-key") == "key-s3cret"
    assert seen.header("authorization") == "Basic dXNlcjpwdy1zM2NyZXQ="  # the URL's user info wins
    assert seen.header("x-signature") == "env-s3cret"
    assert seen.target == "/hook?token=env-s3cret"
    previous = Job(77, EXECUTION_ID, 9, NODE_KEY, JobStatus.PENDING, pending.result)
    failed = await run(client, config, previous=previous)
    for outcome in (pending, failed):
        recorded = orjson.dumps([outcome.result, outcome.meta])
        assert b"s3cret" not in recorded
    record = failed.meta["request"]
    assert isinstance(record, dict)
    assert {h["name"]: h["value"] for h in record["headers"]}["X-Visible"] == "shown"
    assert record["url"] == receiver.url().replace("http://", "http://user:[redacted]@")


async def test_a_bad_rendered_request_is_a_failed_job(client: httpx.AsyncClient) -> None:
    """A URL or header that renders to something HTTP cannot carry fails the job; nothing is sent."""
    bad_url = await run(client, {"url": "{{$context.body.name}}"})
    bad_header = await run(
        client,
        {"url": "http://127.0.0.1:9/", "headers": [{"name": "X", "value": "{{$context.body.split}}"}]},
        scope={**SCOPE, "$context": {"body": {"split": "a\r\nInjected: 1"}}},
    )
    assert bad_url.status is bad_header.status is JobStatus.FAILED
    assert bad_url.result == {
        "message": "the URL 'Ada Lovelace' is not an http:// or https:// URL with a host"
    }
    assert "control character" in bad_header.result["message"]  # type: ignore[index,call-overload]


async def test_the_client_ignores_proxies_from_the_environment(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTP_PROXY in the environment would connect instead of the guard: it is not used."""
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.255.255.1:3128")
    http = open_http_client(["127.0.0.1"])
    try:
        outcome = await run(http, {"url": receiver.url(), "timeout": 2000})
    finally:
        await http.aclose()
    assert outcome.status is JobStatus.RESOLVED
    assert len(receiver.seen) == 1


async def test_no_time_left_before_the_deadline_sends_nothing(
    receiver: Receiver, client: httpx.AsyncClient
) -> None:
    """A synchronous execution already past its deadline fails the node without a call."""
    sync = Workflow(id=1, key="wf", title="t", sync=True)
    outcome = await run(client, {"url": receiver.url()}, workflow=sync, deadline=time.monotonic() - 1)
    assert outcome.status is JobStatus.FAILED
    assert "no time was left" in outcome.result["message"]  # type: ignore[index,call-overload]
    assert receiver.seen == []
