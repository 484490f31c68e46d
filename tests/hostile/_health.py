"""How long `/healthz` waits while hostile requests are in flight: the measure of a stalled server.

A thread of its own asks `/healthz` on a new connection every 50 ms and keeps the longest
wait, so that neither the test's event loop nor a kept-alive connection flatters the figure.
A probe in flight when the watch ends is waited for, so a stall that is still going on counts.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from types import TracebackType

from tests.hostile._raw import HOST

HEALTHZ_BOUND_SECONDS = 1.5
"""The longest `/healthz` may wait while hostile requests are in flight.

An idle server answers in a few milliseconds; the bound leaves a slow, shared CI machine a
wide margin, yet the stalls found by the review (6 s behind a header flood, 30 s behind
twenty query bombs) are far beyond it.
"""

PROBE_TIMEOUT_SECONDS = 60.0
PROBE_INTERVAL_SECONDS = 0.05


class HealthWatch:
    """Measures `/healthz` from a thread while the block runs: `async with HealthWatch(port) as watch:`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.delays: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe_until_stopped, name="healthz-watch", daemon=True)

    @property
    def worst(self) -> float:
        """The longest wait for a `/healthz` answer, in seconds."""
        return max(self.delays, default=0.0)

    def assert_prompt(self, bound: float = HEALTHZ_BOUND_SECONDS) -> None:
        """Fail unless every probe answered 200 and none waited `bound` seconds or more."""
        assert not self.failures, f"/healthz failed while hostile requests were in flight: {self.failures}"
        assert self.delays, "/healthz was never asked while hostile requests were in flight"
        assert self.worst < bound, (
            f"/healthz waited {self.worst:.2f} s (bound {bound} s) while hostile requests were in flight"
        )

    async def __aenter__(self) -> HealthWatch:
        self._thread.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join)

    def _probe_until_stopped(self) -> None:
        """Probe, pause 50 ms, again, until stopped (waiting on the stop event, not sleeping)."""
        while True:
            self._probe()
            if self._stop.wait(PROBE_INTERVAL_SECONDS):
                return

    def _probe(self) -> None:
        """One `GET /healthz` on a fresh connection; its wait, or why it failed."""
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=PROBE_TIMEOUT_SECONDS)
        try:
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
        except OSError as error:
            self.failures.append(f"{error!r} after {time.monotonic() - started:.2f} s")
            return
        finally:
            connection.close()
        self.delays.append(time.monotonic() - started)
        if answer.status != 200:
            self.failures.append(f"status {answer.status}")
