"""A TCP proxy in the test process, to cut a server off from its database and let it back in."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType
from typing import Any

CHUNK = 64 * 1024


class TcpProxy:
    """Forwards `127.0.0.1:<port>` to a target address until `cut()`, and again after `restore()`.

    While cut, every open connection has been reset and every new one is reset as soon as it
    is accepted: to a client, the database is down. While stalled, connections open but no
    byte goes through either way until `restore()`: the database has stopped answering. The
    listening port never changes, so a server keeps the same URL across the outage. Use it as
    `async with TcpProxy(port) as proxy:`.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.refused = 0
        """How many connections arrived while it was cut, and were reset at once."""
        self._cut = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1 (see `port`)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Reset every connection now and every new one from now on."""
        self._cut = True
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()

    def stall(self) -> None:
        """Hold every byte in both directions (on open and new connections) until `restore()`."""
        self._flowing.clear()

    def restore(self) -> None:
        """Forward again: held bytes go on, new connections are served (reset ones stay closed)."""
        self._cut = False
        self._flowing.set()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        handlers = list(self._handlers)
        for handler in handlers:
            handler.cancel()
        if handlers:
            await asyncio.wait(handlers)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection; a handler must not end cancelled (asyncio would log it)."""
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            _reset(writer)  # close() stops every handler this way
        finally:
            self._handlers.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Connect the client to the target and copy bytes both ways until either side closes."""
        if self._cut:
            self.refused += 1
            _reset(writer)
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        if self._cut:  # cut while connecting
            _reset(writer)
            _reset(target_writer)
            return
        self._open.update((writer, target_writer))
        pipes = [
            asyncio.create_task(self._pipe(reader, target_writer)),
            asyncio.create_task(self._pipe(target_reader, writer)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.wait(pipes)
            for side in (writer, target_writer):
                self._open.discard(side)
                side.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy bytes from one side to the other until end of stream or a connection error."""
        with contextlib.suppress(OSError):
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a TCP reset (no orderly goodbye), as a crashed peer would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
