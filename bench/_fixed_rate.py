"""A fixed-rate HTTP load generator: RATE requests per second for SECONDS, whatever the answers take.

wrk keeps every connection busy (a closed loop: the server sets the rate) and Debian has no wrk2,
so the `sustained` scenarios of bench/run.py offer their load with this. Request number i is due at
`i / RATE` seconds after the start; every millisecond the due requests go out on idle keep-alive
HTTP/1.1 connections (one request in flight per connection, raw bytes over uvloop), the one idle
longest first: taken last-in first-out, the connections at the bottom of the pile sat idle until the
server's keep-alive timeout (5 s) closed them, and a request sent just as one closed was lost, a
failure of the benchmark rather than of the server. When every
connection is busy the requests owed are sent as soon as answers free one, so the schedule is
caught up, and the run reports how far it fell behind (`max_owed`). One process on one core offers
about 8k requests per second against bench/bare_app.py.

    .venv/bin/python bench/_fixed_rate.py http://127.0.0.1:8000/api/webhook:trigger/orders-paid-async \
        --rate 2000 --seconds 20

It prints one JSON object: offered and sent requests, 2xx and other answers, broken connections,
the latency percentiles (from sending to the whole answer), and the largest number of requests owed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import cast
from urllib.parse import urlsplit

import uvloop
from _requests import REQUESTS

TICK_SECONDS = 0.001
"""How often due requests are sent: at 8k/s that is 8 requests a tick."""
LATE_SECONDS = 5.0
"""Requests still owed this long after the run's end are not sent (they count in `sent` < `offered`)."""

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


@dataclass(slots=True)
class LoadResult:
    """What one fixed-rate run did; rates are per second of the run's nominal length."""

    rate: float
    seconds: float
    offered: int
    sent: int
    ok: int
    non_2xx: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_owed: int

    @property
    def answered_per_s(self) -> float:
        """2xx answers per second."""
        return self.ok / self.seconds


def http_request(url: str, request: str) -> bytes:
    """The raw HTTP/1.1 keep-alive request posting the named request of `_requests.REQUESTS` to `url`."""
    parts = urlsplit(url)
    sent = REQUESTS[request]
    lines = [
        f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Type: {sent.content_type}",
        f"Content-Length: {len(sent.body)}",
        *(f"{name}: {value}" for name, value in sent.headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + sent.body


def response_length(buffer: bytes | bytearray) -> int | None:
    """The length of the whole first response in `buffer` (head and body), or None while incomplete.

    Only `Content-Length` bodies are read (no chunked encoding): what the benchmark's servers send.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    found = _CONTENT_LENGTH.search(buffer, 0, end + 2)
    total = end + 4 + (int(found.group(1)) if found else 0)
    return total if len(buffer) >= total else None


def percentile(values: list[float], percent: float) -> float:
    """The `percent` percentile of `values` (nearest rank; 0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(percent / 100 * len(ordered)) - 1))
    return ordered[rank]


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight, its answer read by Content-Length."""

    def __init__(self, load: _Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent_at: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.load.ready(self)

    def send(self, now: float) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.load.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        length = response_length(self.buffer)
        if length is None:
            return
        status = int(self.buffer[9:12])
        del self.buffer[:length]
        sent_at, self.sent_at = self.sent_at, None
        if sent_at is not None:
            self.load.answered(self, status, sent_at)

    def connection_lost(self, exc: Exception | None) -> None:
        self.load.lost(self)


class _Load:
    """The schedule, the idle connections, and the tallies of one run."""

    def __init__(self, url: str, request: bytes, rate: float, seconds: float) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.request, self.rate, self.seconds = request, rate, seconds
        self.total = int(rate * seconds)
        self.loop = asyncio.get_running_loop()
        self.idle: deque[_Connection] = deque()
        self.open: set[_Connection] = set()
        self.start = 0.0
        self.sent = self.ok = self.non_2xx = self.errors = self.max_owed = 0
        self.latencies: list[float] = []
        self.done = self.loop.create_future()
        self.all_answered = asyncio.Event()
        self.reconnecting: set[asyncio.Task[None]] = set()

    async def run(self, connections: int) -> LoadResult:
        """Open the connections, send on schedule, wait for the last answers (up to 10 s)."""
        await asyncio.gather(*(self.connect() for _ in range(connections)))
        self.start = self.loop.time()
        print("started", flush=True)
        self.tick()
        await self.done
        self.settle()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_answered.wait(), 10.0)
        for connection in list(self.open):
            if connection.transport is not None:
                connection.transport.close()
        return LoadResult(
            self.rate, self.seconds, self.total, self.sent, self.ok, self.non_2xx,
            self.errors + len(self.open) - len(self.idle),
            percentile(self.latencies, 50) * 1000, percentile(self.latencies, 99) * 1000, self.max_owed,
        )  # fmt: skip

    async def connect(self) -> None:
        connection = _Connection(self)
        await self.loop.create_connection(lambda: connection, self.host, self.port)

    def owed(self, now: float) -> int:
        """Requests due by `now` and not sent yet."""
        return min(int((now - self.start) * self.rate) + 1, self.total) - self.sent

    def tick(self) -> None:
        now = self.loop.time()
        owed = self.owed(now)
        while owed > 0 and self.idle:
            self.idle.popleft().send(now)
            self.sent += 1
            owed -= 1
        self.max_owed = max(self.max_owed, owed)
        if self.sent < self.total and now < self.start + self.seconds + LATE_SECONDS:
            self.loop.call_at(now + TICK_SECONDS, self.tick)
        elif not self.done.done():
            self.done.set_result(None)

    def settle(self) -> None:
        """Once nothing more is sent: tell `run` when no request is in flight any more."""
        if self.done.done() and len(self.idle) >= len(self.open):
            self.all_answered.set()

    def ready(self, connection: _Connection) -> None:
        self.open.add(connection)
        self.idle.append(connection)

    def answered(self, connection: _Connection, status: int, sent_at: float) -> None:
        self.latencies.append(time.perf_counter() - sent_at)
        now = self.loop.time()
        if 200 <= status < 300:
            self.ok += 1
        else:
            self.non_2xx += 1
        if self.start and self.owed(now) > 0:  # behind the schedule: catch up at once
            connection.send(now)
            self.sent += 1
        else:
            self.idle.append(connection)
            self.settle()

    def lost(self, connection: _Connection) -> None:
        self.open.discard(connection)
        if connection in self.idle:
            self.idle.remove(connection)
        if connection.sent_at is not None:
            self.errors += 1
        if not self.done.done():  # the server closed it mid-run: open another
            reconnect = self.loop.create_task(self.connect())
            self.reconnecting.add(reconnect)
            reconnect.add_done_callback(self.reconnecting.discard)
        self.settle()


async def offer(url: str, request: str, rate: float, seconds: float, connections: int) -> LoadResult:
    """Offer `rate` requests/s of the named request to `url` for `seconds` over `connections`.

    Once the connections are open and the first request goes out, it prints `started` (a line).
    """
    return await _Load(url, http_request(url, request), rate, seconds).run(connections)


def main() -> None:
    """Parse the command line, run, print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--request", default="json", choices=sorted(REQUESTS))
    args = parser.parse_args()
    started = time.monotonic()
    result = uvloop.run(offer(args.url, args.request, args.rate, args.seconds, args.connections))
    print(json.dumps({**asdict(result), "wall_seconds": time.monotonic() - started}), flush=True)


if __name__ == "__main__":
    main()
