"""hookline's HTTP/1.1 connection protocol: uvicorn's httptools protocol with limits on what a client sends.

uvicorn's own protocol accepts any number of header bytes, any URL length, any time to send a
request and any number of connections. `HooklineHttpProtocol` refuses, before the app sees the
request and with hookline's JSON error (then closes the connection):

- a URL longer than `url_limit` bytes: `414 url_too_long`, as soon as the parser reports the
  piece that passes it;
- more header lines than `header_count_limit`: `431 too_many_headers`, at the first line too
  many; more bytes of header names and values than `header_bytes_limit`: `431 headers_too_large`,
  counted when the head is complete (and only when its raw size could pass the limit), or as soon
  as a read leaves an incomplete head larger than all the limits together (one endless header
  line, say). Parsing stops there: at most one read (256 KiB with uvloop) more is ever held;
- headers not received within `header_timeout_seconds`: `408 header_timeout`. The clock starts
  when the connection opens (so a connection that never sends anything is closed, silently, as it
  asked nothing), and for each later request on a keep-alive connection at its first byte (the
  idle time between requests is uvicorn's keep-alive timeout, 5 s);
- a body not received within `body_timeout_seconds` of its headers: `408 body_timeout` (only the
  connection is closed when the app has already begun answering). The app's `receive()` then
  gives `http.disconnect`, so the webhook route records nothing for a body it never got;
- a connection past `max_connections` open in the process: `503 too_many_connections`.

On the hot path this costs a few comparisons per request and one per header line (about 8k
instructions for a request with 8 headers, 6 % of uvicorn's own protocol); a timer is armed only
while a request is incomplete at the end of a read (and one per connection for its first request).
It relies on uvicorn internals (pinned below 0.56; `tests/unit/test_http_protocol.py` checks them).
"""

from __future__ import annotations

import asyncio
import http
from dataclasses import dataclass
from itertools import chain
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hookline.answers import encode_error
from hookline.api.errors import ThrottledLog
from hookline.errors import RejectedRequest
from hookline.metrics import Metrics
from hookline.settings import Settings

METRICS_STATE = "hookline.metrics"
"""The key of the app's lifespan state under which the protocol finds `Metrics` to count refusals."""

_LINE_ROOM = 8
"""Bytes a header line may take beyond its name and value (`: `, CRLF, a little padding)."""
_HEAD_ROOM = 1024
"""Bytes a request head may take beyond its URL and headers (method, version, final CRLF)."""

_LINGER_SECONDS = 2.0
"""How long a refused connection keeps reading (and dropping) what the client still sends.

Closing a socket with unread data makes the kernel reset the connection, and the client may lose
the answer with it (a header flood is refused long before the client has sent it all)."""

_refusals = ThrottledLog()
"""Refusals are logged as warnings with the client's address, at most one per code every 5 s."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one request may send, how fast, and how many connections one process holds."""

    url_bytes: int
    header_count: int
    header_bytes: int
    header_seconds: float
    body_seconds: float
    connections: int

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        """The limits the settings give."""
        return cls(
            url_bytes=settings.url_limit,
            header_count=settings.header_count_limit,
            header_bytes=settings.header_bytes_limit,
            header_seconds=settings.header_timeout_seconds,
            body_seconds=settings.body_timeout_seconds,
            connections=settings.max_connections,
        )

    @property
    def head_bytes(self) -> int:
        """The raw size of a request head within every other limit: past it, a head is too large."""
        return self.url_bytes + self.header_bytes + _LINE_ROOM * self.header_count + _HEAD_ROOM


def http_protocol(settings: Settings) -> type[HooklineHttpProtocol]:
    """The `http=` argument for uvicorn: the protocol class with the settings' limits."""

    class Limited(HooklineHttpProtocol):
        limits = ConnectionLimits.of(settings)

    return Limited


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is refused."""

    def __init__(self, error: RejectedRequest) -> None:
        super().__init__(error.message)
        self.error = error


class HooklineHttpProtocol(HttpToolsProtocol):
    """One HTTP/1.1 connection, as uvicorn's httptools protocol, within `ConnectionLimits`."""

    limits: ClassVar[ConnectionLimits]
    """Set on the class `http_protocol()` makes: uvicorn builds each connection's protocol from a class."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.url = b""
        limits = self.limits
        self._url_limit = limits.url_bytes  # the limits read on every request, as plain attributes
        self._header_count = limits.header_count
        self._header_bytes = limits.header_bytes
        self._in_body = False
        self._head_seen = 0
        """Bytes fed to the parser since the last request ended, while outside a body."""
        self._timer: asyncio.TimerHandle | None = None
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection, or refuse it with 503 when the process holds too many."""
        super().connection_made(transport)
        if len(self.connections) > self.limits.connections:
            self.connections.discard(self)  # refused: it must not count against the others
            self._refuse(_too_many_connections(self.limits), linger=False)  # nothing to keep it for
            return
        self._timer = self.loop.call_later(self.limits.header_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and its timer."""
        if self._timer is not None:
            self._timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Parse what arrived (as uvicorn does); refuse a request past a limit; time an incomplete one."""
        if self._lingering:
            return
        self._unset_keepalive_if_required()
        if not self._in_body:
            self._head_seen += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            refused = exc.__context__
            if isinstance(refused, _Refused):
                self._refuse(refused.error)
            else:
                self._refuse(
                    RejectedRequest(400, "bad_request", f"The request is not valid HTTP/1.1: {exc}.")
                )
            return
        if self._in_body:
            if self._timer is None:
                self._timer = self.loop.call_later(self.limits.body_seconds, self._body_timed_out)
        elif self._head_seen:  # a head has begun and is not complete
            if self._head_seen > self.limits.head_bytes:
                self._refuse(self._head_too_large())
            elif self._timer is None:
                self._timer = self.loop.call_later(self.limits.header_seconds, self._head_timed_out)

    def on_url(self, url: bytes) -> None:
        """A piece of the URL (there may be several): refuse past `url_limit` bytes at once."""
        self.url += url  # uvicorn's `on_url`, inlined: this runs for every request
        if len(self.url) > self._url_limit:
            raise _Refused(_url_too_long(self.limits))

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header line: refuse past `header_count_limit` lines at once, before parsing any more."""
        headers = self.headers
        if len(headers) >= self._header_count:
            raise _Refused(_too_many_headers(self.limits))
        # uvicorn's `on_header`, inlined (a call per header line costs more than the check above);
        # tests/unit/test_http_protocol.py fails when uvicorn's changes.
        name = name.lower()
        value = value.rstrip(b" \t")
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        headers.append((name, value))

    def on_headers_complete(self) -> None:
        """The head is complete: refuse it past a limit, or stop its clock and let uvicorn start the app."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # The names and values are counted only when the head's raw size may pass the limit, or when
        # it is unknown (0: this head began after a request that ended in the same read).
        seen, limit = self._head_seen, self._header_bytes
        if (seen > limit or not seen) and _header_bytes(self.headers) > limit:
            raise _Refused(_headers_too_large(self.limits))
        self._in_body = True
        HttpToolsProtocol.on_headers_complete(self)  # not super(): cheaper, and this runs for every request

    def on_message_complete(self) -> None:
        """The whole request arrived: nothing is timed until the next one begins."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._in_body = False
        self._head_seen = 0
        HttpToolsProtocol.on_message_complete(self)

    def _head_too_large(self) -> RejectedRequest:
        """The refusal of a head still incomplete past the raw size of every limit together."""
        if len(self.url) > self.limits.url_bytes:
            return _url_too_long(self.limits)
        return _headers_too_large(self.limits)

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.flow.read_paused:
            # uvicorn stopped reading (a request before this one is still answered): not the client's delay.
            self._timer = self.loop.call_later(self.limits.header_seconds, self._head_timed_out)
        elif self._head_seen == 0:
            self.transport.close()  # it never sent a byte: there is no request to answer
        else:
            self._refuse(_header_timeout(self.limits))

    def _body_timed_out(self) -> None:
        self._timer = None
        cycle = self.cycle
        if self.flow.read_paused and not cycle.response_complete:
            # The app has not yet taken what arrived, so uvicorn stopped reading: not the client's delay.
            self._timer = self.loop.call_later(self.limits.body_seconds, self._body_timed_out)
        elif cycle.response_complete:
            self.transport.close()  # answered without reading the whole body: nothing more to say
        else:
            self._refuse(_body_timeout(self.limits))

    def _refuse(self, error: RejectedRequest, *, linger: bool = True) -> None:
        """Answer `error` directly on the transport, close the connection, count it and log it."""
        if self.transport.is_closing():
            return
        self._count(error)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if not self._in_body:
                # The refused request came after one still being answered: finish that answer, then close.
                cycle.keep_alive = False
                self.flow.pause_reading()
                return
            # The app may wait for this body: it gets `http.disconnect`, and whatever it sends goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()  # half an answer is out: only the connection can go
                return
        status, headers, body = encode_error(error)
        lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
        lines += [
            name + b": " + value + b"\r\n" for name, value in (*self.server_state.default_headers, *headers)
        ]
        self.transport.write(b"".join((*lines, b"connection: close\r\n\r\n", body)))
        if linger:
            self._linger()
        else:
            self.transport.close()

    def _linger(self) -> None:
        """Close the connection for writing now, and for reading once the client stops (or in 2 s)."""
        if self._timer is not None:
            self._timer.cancel()
        self._lingering = True
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._timer = self.loop.call_later(_LINGER_SECONDS, self.transport.close)

    def _count(self, error: RejectedRequest) -> None:
        metrics = self.app_state.get(METRICS_STATE)
        if isinstance(metrics, Metrics):
            metrics.rejected(error.code)
        address = self.client[0] if self.client else "unknown"
        _refusals.warning(
            error.code,
            "refused a request from %s: %s %s: %s",
            address,
            error.status,
            error.code,
            error.message,
        )


def _header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    """The bytes of the header names and values together."""
    return sum(map(len, chain.from_iterable(headers)))


def _url_too_long(limits: ConnectionLimits) -> RejectedRequest:
    return RejectedRequest(414, "url_too_long", f"The request URL is longer than {limits.url_bytes} bytes.")


def _too_many_headers(limits: ConnectionLimits) -> RejectedRequest:
    message = f"The request has more than {limits.header_count} header lines."
    return RejectedRequest(431, "too_many_headers", message)


def _headers_too_large(limits: ConnectionLimits) -> RejectedRequest:
    message = f"The request headers are larger than {limits.header_bytes} bytes."
    return RejectedRequest(431, "headers_too_large", message)


def _header_timeout(limits: ConnectionLimits) -> RejectedRequest:
    message = f"The request headers did not arrive within {limits.header_seconds:g} seconds."
    return RejectedRequest(408, "header_timeout", message)


def _body_timeout(limits: ConnectionLimits) -> RejectedRequest:
    message = f"The request body did not arrive within {limits.body_seconds:g} seconds of its headers."
    return RejectedRequest(408, "body_timeout", message)


def _too_many_connections(limits: ConnectionLimits) -> RejectedRequest:
    message = f"This server already holds {limits.connections} connections; try again shortly."
    return RejectedRequest(503, "too_many_connections", message)
