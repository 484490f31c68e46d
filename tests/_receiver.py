"""A small HTTP/1.1 server on 127.0.0.1 that tests send outbound requests to: it records what arrives.

It reads each request off the wire as it came (method, target, headers in order, body bytes) and
answers with what its handler says, including answers no well-behaved server gives (an endless
body, no answer at all), one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass
class Seen:
    """One request as the receiver read it off the wire."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (names compared without case)."""
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


@dataclass
class Reply:
    """What the receiver answers: raw bytes after the status line's headers, or a stream of chunks."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "application/json")])
    body: bytes = b'{"ok": true}'
    endless: bool = False
    """Send chunks until the client hangs up (a body with no end)."""
    hang: bool = False
    """Never answer."""
    delay: float = 0.0
    """Seconds to wait before answering (a slow receiver)."""


Handler = Callable[[Seen], Reply]


class Receiver:
    """A small HTTP/1.1 server: records every request, answers each with `handler`, one per connection."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler or (lambda seen: Reply())
        self.seen: list[Seen] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        """The URL of a path on this server."""
        return f"http://{host}:{self.port}{path}"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end every connection still open."""
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            seen = await _read_request(reader)
            self.seen.append(seen)
            await _write_reply(writer, self.handler(seen))
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Seen:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    method, target, _ = head[0].split(" ", 2)
    headers = [tuple(line.split(": ", 1)) for line in head[1:] if line]
    length = int(next((v for n, v in headers if n.lower() == "content-length"), "0"))
    body = await reader.readexactly(length)
    return Seen(method, target, [(n, v) for n, v in headers], body)


async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
    if reply.hang:
        await asyncio.Event().wait()
    if reply.delay:
        await asyncio.sleep(reply.delay)
    lines = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}", "Connection: close"]
    lines += [f"{n}: {v}" for n, v in reply.headers]
    if reply.endless:
        writer.write(("\r\n".join([*lines, "Transfer-Encoding: chunked"]) + "\r\n\r\n").encode())
        chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
        while True:  # until the client hangs up: ConnectionError ends it
            writer.write(chunk)
            await writer.drain()
    lines.append(f"Content-Length: {len(reply.body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + reply.body)
    await writer.drain()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Whatever"
