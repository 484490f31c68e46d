"""A small HTTP receiver to point hookline's request node at: it fails on purpose, then accepts.

It answers `503` to the first `--fail-first` requests of each `Idempotency-Key` and `200` after,
so a workflow's retries can be watched; it counts the calls per key and per path, prints one line
per request, and prints the counts when it stops (Ctrl-C or SIGTERM). `GET /stats` gives the counts
as JSON (the README tour, the order-forward test and the benchmark read them).

    .venv/bin/python scripts/receiver.py --port 9100 --fail-first 2

It uses the standard library only and knows nothing of hookline, so a test can load it as it is.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NO_KEY = "(none)"
"""How a request without an Idempotency-Key is counted."""


class Tally:
    """The calls seen so far, per Idempotency-Key and per path; decides what each call is answered."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.statuses: dict[str, list[int]] = defaultdict(list)
        """The statuses answered to each key, in order."""
        self.paths: Counter[str] = Counter()
        self._lock = threading.Lock()  # one thread per connection

    def answer(self, key: str, path: str) -> tuple[int, int]:
        """Count one call; its status (503 for the first `fail_first` calls of a key) and its number."""
        with self._lock:
            calls = self.statuses[key]
            status = 503 if len(calls) < self.fail_first else 200
            calls.append(status)
            self.paths[path] += 1
            return status, len(calls)

    def stats(self) -> dict[str, Any]:
        """The counts as `GET /stats` gives them."""
        with self._lock:
            return {
                "requests": sum(self.paths.values()),
                "failFirst": self.fail_first,
                "keys": {key: list(calls) for key, calls in self.statuses.items()},
                "paths": dict(self.paths),
            }


class ReceiverServer(ThreadingHTTPServer):
    """The receiver: a threading HTTP server holding its `Tally`."""

    daemon_threads = True
    request_queue_size = 128  # the default (5) refuses connections under a benchmark's load

    def __init__(
        self, port: int, fail_first: int = 0, *, quiet: bool = False, host: str = "127.0.0.1"
    ) -> None:
        super().__init__((host, port), _Handler)
        self.tally = Tally(fail_first)
        self.quiet = quiet

    @property
    def url(self) -> str:
        """The base URL it listens on (with the port it got when asked for port 0)."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    """One request: GET /stats answers the counts; anything else is counted and answered 503 or 200."""

    server: ReceiverServer
    protocol_version = "HTTP/1.1"  # keep-alive, as hookline's HTTP client expects
    # Headers and body leave in two writes: with Nagle's algorithm the second waited for the
    # client's delayed ACK, 40 ms per call (the order-forward benchmark measured the receiver).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/stats":
            self._send(200, self.server.tally.stats())
        else:
            self._receive()

    def do_POST(self) -> None:
        self._receive()

    do_PUT = do_PATCH = do_DELETE = do_POST

    def _receive(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Idempotency-Key") or NO_KEY
        status, call = self.server.tally.answer(key, self.path)
        if not self.server.quiet:
            shown = body[:120].decode("utf-8", "replace")
            print(f"{self.command} {self.path}  key {key}  call {call}  -> {status}  {shown}", flush=True)
        if status == 503:
            self._send(503, {"error": "busy, try again", "call": call})
        else:  # the body it got, echoed: the caller's record of the answer shows what arrived
            self._send(200, {"accepted": True, "key": key, "call": call, "received": _parsed(body)})

    def _send(self, status: int, data: Any) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `_receive` prints its own line per request."""


def _parsed(body: bytes) -> Any:
    """A request body as JSON when it is JSON, else as text."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def summary(stats: dict[str, Any]) -> str:
    """The counts, for a person: the total, each path, each key with the statuses it got."""
    lines = [f"{stats['requests']} requests"]
    lines += [f"  {count:5}  {path}" for path, count in sorted(stats["paths"].items())]
    lines += [f"  key {key}: {' '.join(map(str, calls))}" for key, calls in sorted(stats["keys"].items())]
    return "\n".join(lines)


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends it like Ctrl-C: with the summary


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM, then print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=9100, help="port on 127.0.0.1 (default 9100)")
    parser.add_argument(
        "--fail-first", type=int, default=0, help="503s before accepting each key (default 0)"
    )
    parser.add_argument("--quiet", action="store_true", help="no line per request (for load tests)")
    args = parser.parse_args(argv)
    if args.fail_first < 0:
        parser.error("--fail-first must be 0 or more")
    try:
        server = ReceiverServer(args.port, args.fail_first, quiet=args.quiet)
    except OSError as error:
        print(f"receiver: cannot listen on 127.0.0.1:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    print(f"receiver on {server.url}: 503 to the first {args.fail_first} calls of each key", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print(summary(server.tally.stats()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
