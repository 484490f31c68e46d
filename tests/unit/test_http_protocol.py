"""hookline's HTTP protocol: what it relies on in uvicorn is still there; a timed-out body reaches the app."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from hookline.api.http_protocol import ConnectionLimits, http_protocol
from hookline.settings import Settings

HOST = "127.0.0.1"

OVERRIDDEN = {
    "__init__": ["self", "config", "server_state", "app_state", "_loop"],
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "data_received": ["self", "data"],
    "on_url": ["self", "url"],
    "on_header": ["self", "name", "value"],
    "on_headers_complete": ["self"],
    "on_message_complete": ["self"],
}
"""uvicorn's methods the protocol overrides, with their parameters: a change must be looked at."""

INLINED = {
    "on_url": """    def on_url(self, url: bytes) -> None:
        self.url += url
""",
    "on_header": """    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        value = value.rstrip(b" \\t")
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))
""",
}
"""uvicorn's methods whose code (comments aside) the protocol copies: they run per request or header line."""

CALLED = [
    "_unset_keepalive_if_required",
    "_should_upgrade",
    "handle_websocket_upgrade",
    "_unsupported_upgrade_warning",
]
"""uvicorn's methods the protocol's own `data_received` calls, as uvicorn's does."""

PROTOCOL_STATE = [
    "parser",
    "cycle",
    "headers",
    "flow",
    "transport",
    "connections",
    "server_state",
    "app_state",
    "loop",
]
"""Attributes of uvicorn's protocol that the protocol reads or sets."""

CYCLE_STATE = ["disconnected", "keep_alive", "response_started", "response_complete", "message_event"]
"""Attributes of uvicorn's request cycle that the protocol reads or sets."""


def test_uvicorn_still_has_what_the_protocol_overrides_and_calls() -> None:
    """Each uvicorn method the protocol overrides or calls exists, with the parameters it expects."""
    for name, parameters in OVERRIDDEN.items():
        assert list(inspect.signature(getattr(HttpToolsProtocol, name)).parameters) == parameters, name
    for name in CALLED:
        assert callable(getattr(HttpToolsProtocol, name)), name


def test_uvicorn_methods_the_protocol_copies_are_unchanged() -> None:
    """uvicorn's `on_url` and `on_header` are still what the protocol's own copies do."""
    for name, source in INLINED.items():
        lines = inspect.getsource(getattr(HttpToolsProtocol, name)).splitlines(keepends=True)
        code = "".join(line for line in lines if not line.lstrip().startswith("#"))
        assert code == source, f"uvicorn changed {name}"


async def test_uvicorn_still_keeps_the_state_the_protocol_uses() -> None:
    """uvicorn's protocol and request cycle still hold the attributes the protocol reads and sets."""
    protocol = http_protocol(Settings())(config=_config(_app([])), server_state=ServerState(), app_state={})
    for name in PROTOCOL_STATE:
        assert hasattr(protocol, name), name
    cycle_parameters = inspect.signature(RequestResponseCycle.__init__).parameters
    arguments: dict[str, Any] = {name: None for name in cycle_parameters if name != "self"}
    cycle = RequestResponseCycle(**arguments)
    for name in CYCLE_STATE:
        assert hasattr(cycle, name), name


def test_a_head_may_take_every_limit_at_once() -> None:
    """The raw size allowed to a request head covers the URL and header limits together."""
    limits = ConnectionLimits.of(Settings())
    assert limits.head_bytes > limits.url_bytes + limits.header_bytes + 4 * limits.header_count


async def test_a_body_that_times_out_reaches_the_app_as_a_disconnect() -> None:
    """The app reading a body that stops coming gets `http.disconnect`; the client gets `408 body_timeout`."""
    received: list[Message] = []
    settings = Settings(body_timeout_seconds=0.2)
    async with _serving(settings, _app(received)) as port:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        async with asyncio.timeout(5):
            answer = await reader.read()
        writer.close()
        await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert (
        b'{"error":{"code":"body_timeout","message":"The request body did not arrive within 0.2 s' in answer
    )
    assert received == [
        {"type": "http.request", "body": b"0123456789", "more_body": True},
        {"type": "http.disconnect"},
    ]


async def test_a_refused_request_behind_one_being_answered_lets_that_answer_finish() -> None:
    """101 headers pipelined behind a request still answered: its answer comes whole, then the end."""
    started, release = asyncio.Event(), asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        started.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async with _serving(Settings(), app) as port:
        reader, writer = await asyncio.open_connection(HOST, port)
        second = b"GET /b HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n"
        writer.write(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" + second)  # one read: parsed before the app runs
        async with asyncio.timeout(5):
            await started.wait()
            release.set()
            answer = await reader.read()
        writer.close()
        await writer.wait_closed()
    assert answer == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


def _app(received: list[Message]) -> ASGIApp:
    """An ASGI app that reads its request body until it ends or the client is gone, and never answers."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    return app


def _config(app: ASGIApp) -> uvicorn.Config:
    """uvicorn's configuration for `app`, leaving the logging setup of the test run alone."""
    return uvicorn.Config(app, lifespan="off", log_config=None, log_level=logging.WARNING)


@contextlib.asynccontextmanager
async def _serving(settings: Settings, app: ASGIApp) -> AsyncIterator[int]:
    """Serve `app` with the protocol on an ephemeral port of 127.0.0.1; yields the port."""
    protocol, config, state = http_protocol(settings), _config(app), ServerState()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: protocol(config=config, server_state=state, app_state={}), HOST, 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for connection in list(state.connections):
            connection.shutdown()
        await asyncio.gather(*state.tasks)
        await server.wait_closed()
