"""HTTP/1.1 over raw asyncio streams: send exactly the bytes a hostile client sends, and see a drop.

httpx refuses to send much of what these tests need (malformed or enormous headers, half a
request) and hides how a connection ended. Here a request is bytes; its answer is parsed by
hand, and a connection closed before a whole answer came is `Dropped`, one that gives none in
time is `Hung`: both are failures in every test of the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

HOST = "127.0.0.1"
WEBHOOK_PATH = "/api/webhook:trigger/"


class Dropped(AssertionError):
    """The server closed (or reset) the connection before a whole answer arrived."""


class Hung(AssertionError):
    """No whole answer arrived within the time the test allowed."""


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """One HTTP answer as it came over the wire, with the time from first byte sent to last received."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    """Header lines in order; names lower-cased, values as sent."""
    body: bytes
    seconds: float

    def header(self, name: str) -> str | None:
        """The first value of a header, decoded as UTF-8 (None when absent)."""
        raw = self.raw_header(name)
        return None if raw is None else raw.decode("utf-8", errors="replace")

    def raw_header(self, name: str) -> bytes | None:
        """The first value of a header as bytes (None when absent)."""
        wanted = name.lower().encode()
        return next((value for key, value in self.headers if key == wanted), None)

    @property
    def execution(self) -> str | None:
        """The execution id the answer names in `X-Hookline-Execution`, if any."""
        return self.header("x-hookline-execution")

    @property
    def error_code(self) -> str | None:
        """The `error.code` of a hookline JSON error answer, else None."""
        try:
            document = json.loads(self.body)
        except ValueError:
            return None
        error = document.get("error") if isinstance(document, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else None

    def describe(self) -> str:
        """The status, error code and time, for assertion messages."""
        return f"{self.status} {self.error_code or ''} after {self.seconds:.2f} s: {self.body[:200]!r}"


def request(
    target: str,
    *,
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
    method: str = "POST",
    content_type: str | None = "application/json",
) -> bytes:
    """A whole HTTP/1.1 request with `Host`, `Content-Length` and `Connection: close`, then `headers`.

    The head is encoded as UTF-8: a value such as `€42` goes as the bytes a client would send.
    """
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {HOST}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def webhook(
    key: str,
    *,
    query: str = "",
    body: bytes = b"{}",
    headers: Sequence[tuple[str, str]] = (),
    content_type: str | None = "application/json",
) -> bytes:
    """A POST to the webhook URL of `key`, with a query string when given (sent as it is)."""
    target = WEBHOOK_PATH + key + (f"?{query}" if query else "")
    return request(target, body=body, headers=headers, content_type=content_type)


async def exchange(port: int, sent: bytes, *, within: float = 30.0, pace: float | None = None) -> RawAnswer:
    """Send `sent` on a new connection and read the whole answer; `Dropped` or `Hung` otherwise.

    `sent` may be part of a request only: the connection then stays open, silent, until the
    server answers. With `pace`, one byte is sent every `pace` seconds (a trickling client).
    """
    connection = await Connection.open(port)
    try:
        connection.send(sent, pace=pace)
        return await connection.answer(within=within)
    finally:
        await connection.close()


class Connection:
    """One client connection: send bytes (while reading), then read one answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._sending: asyncio.Task[None] | None = None
        self._started = time.monotonic()

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to the server on `port`."""
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    def send(self, sent: bytes, *, pace: float | None = None) -> None:
        """Start writing `sent` (one byte every `pace` seconds when given) in the background.

        A second `send` writes after the first has finished.

        The bytes are written while the answer is read: a server may answer (and close) before
        it has read everything, as it should for a request it refuses early.
        """
        if self._sending is None:
            self._started = time.monotonic()
        self._sending = asyncio.create_task(_send(self._writer, sent, pace, after=self._sending))

    async def answer(self, *, within: float) -> RawAnswer:
        """The answer, read whole within `within` seconds of the send; `Dropped` or `Hung` otherwise."""
        try:
            async with asyncio.timeout(within):
                status, headers, body = await _read_answer(self._reader)
        except TimeoutError:
            raise Hung(f"no answer within {within} s") from None
        return RawAnswer(status, headers, body, time.monotonic() - self._started)

    async def close(self) -> None:
        """Stop sending and close the connection."""
        if self._sending is not None:
            self._sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sending
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


async def _send(
    writer: asyncio.StreamWriter, sent: bytes, pace: float | None, *, after: asyncio.Task[None] | None
) -> None:
    """Write everything once `after` is done; a server that closed early is the reader's business."""
    if after is not None:
        await after
    with contextlib.suppress(OSError):
        if pace is None:
            writer.write(sent)
            await writer.drain()
            return
        for index in range(len(sent)):
            writer.write(sent[index : index + 1])
            await writer.drain()
            await asyncio.sleep(pace)  # the client's own pace, not a wait for the server


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, tuple[tuple[bytes, bytes], ...], bytes]:
    """The status, headers and body (by `Content-Length`, else to the end) of one answer."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as cut:
        raise Dropped(f"the connection closed after {len(cut.partial)} bytes of an answer's head") from None
    except (OSError, asyncio.LimitOverrunError) as error:
        raise Dropped(f"the connection failed before an answer: {error!r}") from None
    status_line, *lines = head[:-4].split(b"\r\n")
    headers = tuple(_header_line(line) for line in lines)
    status = int(status_line.split(b" ", 2)[1])
    length = next((int(value) for name, value in headers if name == b"content-length"), None)
    try:
        body = await (reader.read() if length is None else reader.readexactly(length))
    except (asyncio.IncompleteReadError, OSError) as error:
        raise Dropped(f"the connection closed in the middle of a {status} answer's body: {error!r}") from None
    return status, headers, body


def _header_line(line: bytes) -> tuple[bytes, bytes]:
    name, _, value = line.partition(b":")
    return name.strip().lower(), value.strip()
