"""Limits at the HTTP connection, and webhooks on their own port, against a live `hookline serve`.

One server for the module, with 1 s read timeouts, at most `MAX_CONNECTIONS` connections and a
webhook port. Requests go over raw asyncio streams, since httpx will not send most of them (half
a request, 60,000 headers); every refusal is read to the end of the connection, which shows
that the server closed it after answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from hookline.api.auth import TOKEN_FILE
from hookline.cli import main
from tests._workflows import keyed_workflow
from tests.integration._live_server import LiveServer, free_port, hookline_env, run_cli

HOST = "127.0.0.1"
MAX_CONNECTIONS = 8
TIMEOUT_SECONDS = 1
ANSWER_BOUND_SECONDS = 5.0
"""How soon a refusal must come: at once, or after a 1 s timeout, with room for a slow machine."""
HEALTHZ_BOUND_SECONDS = 1.0
"""How long `/healthz` may wait meanwhile (an idle server answers in milliseconds; before, 6 s)."""

SYNC_KEY, QUIET_KEY = "limits-sync", "limits-quiet"
"""A synchronous workflow the tests call; an asynchronous one that only a body never finished is sent to."""


@dataclass(frozen=True, slots=True)
class Server:
    """The live server, its two ports and its data folder."""

    live: LiveServer
    webhook_port: int
    data_dir: Path
    imported: str
    """What `hookline workflow import` printed."""

    @property
    def port(self) -> int:
        """The main port: the web UI and the admin API."""
        return self.live.port

    def admin(self) -> httpx.AsyncClient:
        """An admin API client on the main port, with the token the server saved."""
        token = (self.data_dir / TOKEN_FILE).read_text().strip()
        return httpx.AsyncClient(base_url=self.live.url, headers={"Authorization": f"Bearer {token}"})


@dataclass(frozen=True, slots=True)
class Answer:
    """Everything the server sent on one connection until it closed it."""

    status: int
    """0 when the server closed the connection without a word."""
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def error(self) -> dict[str, Any]:
        """The `error` object of hookline's JSON error body."""
        error: dict[str, Any] = json.loads(self.body)["error"]
        return error


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `hookline serve` with short read timeouts, few connections, and a webhook port."""
    root = tmp_path_factory.mktemp("http-limits")
    webhook_port = free_port()
    env = hookline_env(
        root / "data",
        HOOKLINE_HEADER_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
        HOOKLINE_BODY_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
        HOOKLINE_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        HOOKLINE_WEBHOOK_PORT=str(webhook_port),
    )
    paths = [_workflow_file(root, SYNC_KEY, sync=True), _workflow_file(root, QUIET_KEY, sync=False)]
    imported = run_cli(env, "workflow", "import", *paths)
    live = LiveServer(env, root / "serve.log")
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # pytest-asyncio may run a loop in this thread
            pool.submit(asyncio.run, live.start()).result()
        yield Server(live, webhook_port, root / "data", imported)
    finally:
        live.stop()


def _workflow_file(folder: Path, key: str, *, sync: bool) -> str:
    path = folder / f"{key}.json"
    path.write_text(json.dumps(keyed_workflow(key, sync=sync)))
    return str(path)


def head(target: str, *lines: bytes, method: str = "GET") -> bytes:
    """A request head (without its final empty line) with `Host` and the extra header lines."""
    return b"\r\n".join([f"{method} {target} HTTP/1.1".encode(), b"Host: 127.0.0.1", *lines]) + b"\r\n"


def whole(target: str, *lines: bytes, method: str = "GET", body: bytes = b"") -> bytes:
    """A whole request that asks the server to close the connection after its answer."""
    length = f"Content-Length: {len(body)}".encode()
    return head(target, *lines, length, b"Connection: close", method=method) + b"\r\n" + body


def webhook(key: str, body: bytes = b"{}") -> bytes:
    """A whole POST to the webhook URL of `key`."""
    return whole(f"/api/webhook:trigger/{key}", b"Content-Type: application/json", method="POST", body=body)


async def exchange(port: int, sent: bytes, within: float = ANSWER_BOUND_SECONDS) -> Answer:
    """Send `sent` (while reading) and read until the server closes the connection, within `within` s."""
    reader, writer = await asyncio.open_connection(HOST, port)
    started = time.monotonic()
    sending = asyncio.create_task(_write(writer, sent))
    try:
        async with asyncio.timeout(within):
            received = await reader.read()  # to the end: the server must close the connection
    finally:
        sending.cancel()
        await close(writer)
    return _parse(received, time.monotonic() - started)


async def close(writer: asyncio.StreamWriter) -> None:
    """Close a connection and wait until it is closed.

    Without the wait, a test that ends right after `close()` leaves its transport half-closed when
    the event loop stops, and its ResourceWarning fails whichever later test the collector runs in.
    """
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _write(writer: asyncio.StreamWriter, sent: bytes) -> None:
    with contextlib.suppress(OSError):  # a server that refuses early stops reading: that is the point
        writer.write(sent)
        await writer.drain()


def _parse(received: bytes, seconds: float) -> Answer:
    if not received:
        return Answer(0, {}, b"", seconds)
    top, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    return Answer(int(status_line.split(" ")[1]), headers, body, seconds)


def assert_refused(answer: Answer, status: int, code: str) -> None:
    """hookline's JSON error with this status and code, with the headers every refusal carries."""
    assert (answer.status, answer.error["code"]) == (status, code), answer
    assert answer.error["message"]
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert int(answer.headers["content-length"]) == len(answer.body)


async def healthz_seconds(port: int) -> float:
    """How long one `GET /healthz` on a new connection takes to answer 200."""
    answer = await exchange(port, whole("/healthz"))
    assert answer.status == 200, answer
    return answer.seconds


async def test_a_long_url_is_answered_414(server: Server) -> None:
    """A request target over `HOOKLINE_URL_LIMIT` (8 KiB) answers `414 url_too_long` and is closed."""
    answer = await exchange(server.port, whole("/healthz?" + "a" * 9000))
    assert_refused(answer, 414, "url_too_long")


async def test_refusals_are_counted_in_the_metrics(server: Server) -> None:
    """A request refused at the connection counts in `hookline_webhook_rejections_total` by its code."""
    await exchange(server.port, whole("/healthz?" + "a" * 9000))
    async with server.admin() as admin:
        page = (await admin.get("/metrics")).text
    counted = [line for line in page.splitlines() if 'reason="url_too_long"' in line]
    assert counted, page
    assert float(counted[0].rsplit(" ", 1)[1]) >= 1


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([f"X-N{n}: 1".encode() for n in range(101)], "too_many_headers"),
        ([b"X-Big: " + b"b" * 40_000], "headers_too_large"),
    ],
    ids=["101 lines", "40 KB"],
)
async def test_too_many_or_too_large_headers_are_answered_431(
    server: Server, lines: list[bytes], code: str
) -> None:
    """101 header lines, or 40 KB of them, answer 431 with the limit's code and are closed."""
    answer = await exchange(server.port, whole("/healthz", *lines))
    assert_refused(answer, 431, code)


async def test_an_endless_header_line_is_cut_short(server: Server) -> None:
    """One header line of 4 MB that never ends answers `431 headers_too_large` without being read whole."""
    answer = await exchange(server.port, head("/healthz") + b"X-Big: " + b"b" * 4_000_000)
    assert_refused(answer, 431, "headers_too_large")


async def test_a_header_flood_is_answered_at_once_while_healthz_answers(server: Server) -> None:
    """60,000 `X-A: <100 bytes>` lines (6 MB) to a webhook answer 431 at once; /healthz never waits 1 s."""
    flood = [b"X-A: " + b"a" * 100] * 60_000
    sent = head(f"/api/webhook:trigger/{SYNC_KEY}", *flood, b"Content-Length: 2", method="POST") + b"\r\n{}"
    attack = asyncio.create_task(exchange(server.port, sent))  # refused before any app could see it
    waits = [await healthz_seconds(server.port)]
    while not attack.done():
        waits.append(await healthz_seconds(server.port))
    answer = await attack
    print(
        f"\nheader flood: {answer.status} after {answer.seconds:.3f} s; /healthz at most {max(waits):.3f} s"
    )
    assert_refused(answer, 431, "too_many_headers")
    assert max(waits) < HEALTHZ_BOUND_SECONDS


async def test_headers_that_stop_half_way_are_answered_408_while_healthz_answers(server: Server) -> None:
    """A client that sends half its headers gets `408 header_timeout` after 1 s; /healthz answers."""
    stalled = asyncio.create_task(exchange(server.port, head("/healthz")))
    waited = await healthz_seconds(server.port)
    assert not stalled.done()
    assert_refused(await stalled, 408, "header_timeout")
    assert waited < HEALTHZ_BOUND_SECONDS


async def test_a_body_that_stops_half_way_is_answered_408_and_records_nothing(server: Server) -> None:
    """10 of 100 announced body bytes get `408 body_timeout` after 1 s, record nothing; /healthz answers."""
    sent = webhook(QUIET_KEY, body=b"x" * 100)[:-90]
    stalled = asyncio.create_task(exchange(server.webhook_port, sent))
    waited = await healthz_seconds(server.port)
    assert not stalled.done()
    assert_refused(await stalled, 408, "body_timeout")
    assert waited < HEALTHZ_BOUND_SECONDS
    async with server.admin() as admin:
        listed = await admin.get("/api/executions", params={"workflow": QUIET_KEY})
    assert listed.json()["items"] == []


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server: Server) -> None:
    """A connection that never sends a byte is closed at the header timeout, unanswered (it asked nothing)."""
    answer = await exchange(server.port, b"")
    assert answer.status == 0


async def test_one_connection_too_many_is_answered_503(server: Server) -> None:
    """Past `HOOKLINE_MAX_CONNECTIONS` open connections, a new one gets `503 too_many_connections`, closed."""
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        while len(held) <= MAX_CONNECTIONS:
            reader, writer = await asyncio.open_connection(HOST, server.port)
            writer.write(head("/healthz") + b"\r\n")  # kept alive after its answer
            first = await reader.readuntil(b"\r\n\r\n")
            if not first.startswith(b"HTTP/1.1 200"):
                await close(writer)
                break
            await reader.readexactly(len(b'{"status":"ok"}'))
            held.append((reader, writer))
        assert len(held) <= MAX_CONNECTIONS
        assert_refused(_parse(first + await reader.read(), 0.0), 503, "too_many_connections")
    finally:
        for reader, writer in held:
            writer.write_eof()
            await reader.read()  # the server has closed its side: the connection no longer counts
            await close(writer)
    assert await healthz_seconds(server.port) < HEALTHZ_BOUND_SECONDS


async def test_webhooks_are_answered_on_the_webhook_port_only(server: Server) -> None:
    """A webhook URL runs its workflow on the webhook port; the main port answers `404 webhook_port`."""
    answered = await exchange(server.webhook_port, webhook(SYNC_KEY))
    assert answered.status == 200, answered
    assert answered.headers["x-hookline-execution"]
    refused = await exchange(server.port, webhook(SYNC_KEY))
    assert refused.status == 404
    assert refused.error == {
        "code": "webhook_port",
        "message": f"Webhook URLs are served on port {server.webhook_port}.",
    }


@pytest.mark.parametrize("target", ["/", "/api/workflows", "/metrics", "/api/webhook:trigger/"])
async def test_the_webhook_port_serves_nothing_else(server: Server, target: str) -> None:
    """On the webhook port the UI, the admin API and metrics are `404 not_found`; /healthz answers."""
    answer = await exchange(server.webhook_port, whole(target))
    assert (answer.status, answer.error["code"]) == (404, "not_found"), answer
    assert (await exchange(server.webhook_port, whole("/healthz"))).status == 200
    assert (await exchange(server.port, whole("/"))).status == 200  # the UI, on the main port


async def test_printed_webhook_urls_name_the_webhook_port(server: Server) -> None:
    """The CLI, the start-up lines and the admin API give webhook URLs on the webhook port."""
    url = f"http://127.0.0.1:{server.webhook_port}/api/webhook:trigger/{SYNC_KEY}"
    assert f"webhook URL: {url}" in server.imported
    assert (
        f"Webhook URLs: http://127.0.0.1:{server.webhook_port}/api/webhook:trigger/<key>"
        in server.live.tail()
    )
    async with server.admin() as admin:
        listed = await admin.get("/api/workflows")
    assert {item["key"]: item["webhook_url"] for item in listed.json()["items"]}[SYNC_KEY] == url


def test_the_webhook_port_must_differ_from_the_main_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hookline serve` refuses a webhook port equal to its main port (exit 2) before listening at all."""
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["serve", "--port", "9000", "--webhook-port", "9000"])
    assert result.exit_code == 2
    assert "The webhook port must differ from the main port (9000)." in result.output
