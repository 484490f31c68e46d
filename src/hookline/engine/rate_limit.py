"""Rate limits (`options.rateLimit`): admit a webhook request, or refuse it with `429 rate_limited`.

Each bucket (a workflow key with its limit's period, and the client's address for a per-address
limit) counts the requests it admitted in fixed windows of one period, and judges a request by a
sliding estimate of the last period: the current window's count plus the previous window's,
weighted by the share of the previous window that the last period still covers (the "sliding
window counter", `_Window`). A request is admitted while that estimate is below the limit. Unlike
a plain fixed window, a burst at the end of one window is not followed by a second full burst
right after the boundary; unlike a log of every request, a bucket holds a few numbers.

On PostgreSQL the processes share their counts through the `rate_counts` table
(`Store.count_requests`, one statement for every bucket at once). A process adds what it admitted
at most `flush_seconds` later, and learns every process's totals in the same round trip. It decides
at once while what it knows of a bucket is at most `fresh_seconds` old; otherwise the request
first waits for the next round trip (shared by every request waiting then). So a process never
decides on counts older than that, and a limit holds across processes up to what the others
admitted in the meantime (docs/deploy.md, "Rate limits", gives the bound and its measurements).
On SQLite, with its one process, the counts stay in memory and nothing waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import time
from collections import OrderedDict
from collections.abc import Callable

from hookline.engine.flows import CompiledFlow
from hookline.errors import RejectedRequest
from hookline.store.base import Store
from hookline.store.rate_count_store import RateWindow
from hookline.trigger.rate_rule import RateRule

MAX_CLIENTS = 100_000
"""Per-address buckets one process remembers; past it the least recently seen address is forgotten."""
FLUSH_SECONDS = 0.1
"""How long admissions wait at most before they are added to the shared counts (PostgreSQL)."""
FRESH_SECONDS = 0.25
"""How old the shared counts of a bucket may be for a process to decide without asking again.
Above `FLUSH_SECONDS`, so that a busy bucket (flushed every interval) never waits."""
WAIT_SECONDS = 0.5
"""How long a request waits at most for fresh counts; after it, it is decided on what is known."""
ROUND_GAP_SECONDS = 0.005
"""The least time between two round trips. A flood of requests to buckets whose counts are old (from
many addresses, say) then shares one round trip every 5 ms, rather than running them back to back."""

Bucket = tuple[str, int, str | None]
"""Who a count is for: the workflow key, the period in seconds, and the client (None: everyone)."""

log = logging.getLogger(__name__)


class RateLimiter:
    """Applies the workflows' `options.rateLimit`; shares its counts through `store` when given."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        fresh_seconds: float = FRESH_SECONDS,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._fresh_seconds = fresh_seconds
        self._max_clients = max_clients
        # Wall-clock time, so that every process puts a request in the same window (run NTP).
        self._clock = clock
        self._workflows: dict[Bucket, _Window] = {}
        """Whole-workflow buckets: one per rate-limited workflow key and period, so few."""
        self._clients: OrderedDict[Bucket, _Window] = OrderedDict()
        """Per-address buckets, least recently seen first."""
        self._unsent: dict[tuple[Bucket, int], int] = {}
        """Admissions not yet added to the shared counts, by bucket and window index."""
        self._wanted: set[Bucket] = set()
        """Buckets whose shared counts requests wait for."""
        self._next_round: asyncio.Future[None] | None = None
        """Done when the next round trip to the shared counts (not the one under way) has ended."""
        self._hurry = asyncio.Event()
        self._round = asyncio.Lock()
        """One round trip at a time: a flush returns once what was admitted before it is shared."""
        self._sharing: asyncio.Task[None] | None = None
        self._last_round = -math.inf
        """When the last round trip ended (the event loop's clock)."""
        self._failing = False

    async def admit(self, compiled: CompiledFlow, client: str | None) -> None:
        """Count a request to this workflow from `client` (its address), or refuse it with a `429`."""
        rule = compiled.options.rate_limit
        if rule is None:
            return  # the usual case: one attribute read
        bucket = (compiled.flow.workflow.key, rule.period, _address(client) if rule.by_ip else None)
        now = self._clock()
        index = int(now // rule.period)
        window = self._window(bucket, index)
        if self._store is not None and not self._failing and now - window.learned > self._fresh_seconds:
            await self._learn(bucket)
            now = self._clock()
            index = int(now // rule.period)
            window = self._window(bucket, index)
        # From the window's start, not `now / period - index`: an epoch's ten digits would eat the fraction.
        wait = window.take(rule.requests, (now - index * rule.period) / rule.period)
        if wait is not None:
            raise _refusal(rule, wait * rule.period)
        if self._store is not None:
            unsent = (bucket, index)
            self._unsent[unsent] = self._unsent.get(unsent, 0) + 1
            self._share()

    async def flush(self) -> None:
        """Add this process's unshared admissions to the shared counts, and learn every process's totals.

        Raises what the store raises; the admissions are then kept for the next flush.
        """
        async with self._round:
            await self._round_trip()

    async def _round_trip(self) -> None:
        """One flush: send the unshared admissions, read the wanted buckets, take in the totals."""
        if self._store is None or not (self._unsent or self._wanted):
            return
        started = self._clock()
        unsent, self._unsent = self._unsent, {}
        buckets = {bucket for bucket, _ in unsent} | self._wanted
        self._wanted = set()
        finished, self._next_round = self._next_round, None
        try:
            current = {bucket: int(started // bucket[1]) for bucket in buckets}
            added = {_stored(b, i): n for (b, i), n in unsent.items() if i >= current[b] - 1}
            read = [_stored(b, i + step) for b, i in current.items() for step in (0, -1)]
            totals = await self._store.count_requests(added, read)
        except BaseException:
            self._keep(unsent)
            raise
        else:
            for bucket, index in current.items():
                window = self._workflows.get(bucket) if bucket[2] is None else self._clients.get(bucket)
                if window is not None:  # else forgotten meanwhile: its next request asks again
                    ours = self._unsent.get((bucket, index), 0)  # admitted while the totals were on their way
                    total = totals.get(_stored(bucket, index), 0) + ours
                    window.learn(index, total, totals.get(_stored(bucket, index - 1), 0), started)
        finally:
            if finished is not None:
                finished.set_result(None)

    async def close(self) -> None:
        """Stop sharing counts (what was admitted in the last flush interval is not added)."""
        if self._sharing is not None:
            self._sharing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sharing
        if self._next_round is not None and not self._next_round.done():
            self._next_round.set_result(None)

    async def _learn(self, bucket: Bucket) -> None:
        """Wait until the next round trip has brought this bucket's shared counts, `WAIT_SECONDS` at most."""
        self._wanted.add(bucket)
        if self._next_round is None:
            self._next_round = asyncio.get_running_loop().create_future()
        learned = self._next_round
        self._share(hurry=True)
        # `wait`, not `wait_for`: a request that gives up (or is cancelled) leaves the round to the others.
        await asyncio.wait((learned,), timeout=WAIT_SECONDS)

    def _window(self, bucket: Bucket, index: int) -> _Window:
        """The bucket's counts, rolled forward to window `index`; new ones start empty."""
        if bucket[2] is None:
            window = self._workflows.get(bucket)
            if window is None:
                window = self._workflows[bucket] = _Window(index)
        else:
            window = self._clients.get(bucket)
            if window is None:
                window = self._clients[bucket] = _Window(index)
                if len(self._clients) > self._max_clients:
                    self._clients.popitem(last=False)
            else:
                self._clients.move_to_end(bucket)
        if window.index != index:
            window.roll(index)
        return window

    def _share(self, *, hurry: bool = False) -> None:
        """Make sure a task shares the counts: in `flush_seconds`, or at once when requests wait."""
        if hurry:
            self._hurry.set()
        if self._sharing is None:
            self._sharing = asyncio.get_running_loop().create_task(self._share_while_needed())

    async def _share_while_needed(self) -> None:
        """Flush every `flush_seconds` (sooner when hurried) while there is anything to share, then stop."""
        loop = asyncio.get_running_loop()
        try:
            while self._unsent or self._wanted:
                if not self._wanted:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._flush_seconds):
                            await self._hurry.wait()
                gap = self._last_round + ROUND_GAP_SECONDS - loop.time()
                if gap > 0:
                    await asyncio.sleep(gap)
                self._hurry.clear()
                await self._flush_logged()
                self._last_round = loop.time()
        finally:
            self._sharing = None

    async def _flush_logged(self) -> None:
        """Flush; a failure is logged once, until a flush succeeds (each process counts alone meanwhile)."""
        try:
            await self.flush()
        except Exception:
            if not self._failing:
                log.warning("rate limits cannot share their counts; each process counts alone", exc_info=True)
            self._failing = True
        else:
            if self._failing:
                log.info("rate limits share their counts again")
            self._failing = False

    def _keep(self, unsent: dict[tuple[Bucket, int], int]) -> None:
        """Put back admissions a flush could not share, except those of windows no longer needed."""
        now = self._clock()
        for (bucket, index), count in unsent.items():
            if index >= int(now // bucket[1]) - 1:  # the current window, or the previous one
                self._unsent[bucket, index] = self._unsent.get((bucket, index), 0) + count


class _Window:
    """One bucket's counts: requests admitted in window `index` and in the one before, by all processes."""

    __slots__ = ("current", "index", "learned", "previous")

    def __init__(self, index: int) -> None:
        self.index = index
        self.previous = 0
        self.current = 0
        self.learned = -math.inf
        """When the shared counts it holds were read (their round trip began)."""

    def roll(self, index: int) -> None:
        """Move on to window `index`: the current count becomes the previous one, if it is adjacent."""
        self.previous = self.current if index == self.index + 1 else 0
        self.current = 0
        self.index = index

    def take(self, limit: int, elapsed: float) -> float | None:
        """Count one request `elapsed` (a fraction) into the window; else how many periods until one fits.

        A request fits while the previous count, weighted by the share of the last period it
        covers (`1 - elapsed`), plus the current count stays below `limit`.
        """
        if self.previous * (1.0 - elapsed) + self.current < limit:
            self.current += 1
            return None
        if self.current < limit:  # later in this window, once the previous one weighs less
            return 1.0 - (limit - self.current) / self.previous - elapsed
        # In the next window, where this one becomes the previous one.
        return 1.0 - elapsed + 1.0 - limit / self.current

    def learn(self, index: int, current: int, previous: int, at: float) -> None:
        """Take in every process's totals of window `index` and the one before it, as read at `at`.

        Counts only grow within a window, so the larger of what is known and what was read is right.
        """
        if index > self.index:
            self.roll(index)
        if index == self.index:
            self.current = max(self.current, current)
            self.previous = max(self.previous, previous)
        elif index == self.index - 1:  # the window ended during the round trip; the new one was empty
            self.previous = max(self.previous, current)
        else:
            return
        self.learned = max(self.learned, at)


def _refusal(rule: RateRule, wait: float) -> RejectedRequest:
    """The `429` of a request over its workflow's rate limit, asking to come back in whole seconds."""
    seconds = math.floor(wait) + 1  # the first whole second strictly after `wait`: by then it fits
    whom = " from one address" if rule.by_ip else ""
    message = (
        f"This workflow accepts {rule.requests} requests per {rule.per}{whom}; try again in {seconds} s."
    )
    return RejectedRequest(429, "rate_limited", message, headers={"Retry-After": str(seconds)})


def _address(client: str | None) -> str:
    """Whom a per-address limit counts: an IPv4 address, or the /64 network of an IPv6 address.

    One IPv6 host is usually given a whole /64, so counting its addresses apart would let it
    pick a new one for every request (and fill the table of buckets). `socket` rather than
    `ipaddress`: 1 µs instead of 40.
    """
    if not client:
        return ""
    if ":" not in client:
        return client[:64]
    try:
        packed = socket.inet_pton(socket.AF_INET6, client.partition("%")[0])  # without a zone (`%eth0`)
    except OSError:
        return client[:64]
    if packed.startswith(_IPV4_MAPPED):
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return socket.inet_ntop(socket.AF_INET6, packed[:8] + bytes(8)) + "/64"


_IPV4_MAPPED = bytes(10) + b"\xff\xff"
"""The first 12 bytes of an IPv4 address written as IPv6 (`::ffff:192.0.2.1`)."""


def _stored(bucket: Bucket, index: int) -> RateWindow:
    """A bucket's window as the shared counts name it: `key/period[/address]` and its start in seconds."""
    key, period, client = bucket
    name = f"{key}/{period}" if client is None else f"{key}/{period}/{client}"
    return name, index * period
