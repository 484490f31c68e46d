"""The backlog: how many executions wait `queued`, per workflow and in all, as one process knows it.

The default queue limits (`HOOKLINE_QUEUE_LIMIT` for a workflow whose options set no `queueLimit`,
`HOOKLINE_QUEUE_LIMIT_TOTAL` for all workflows together) are checked on every asynchronous request,
so they must cost next to nothing: no query per request. Instead a process counts the queued
executions in the database now and then (`refresh`, one index scan), and adds to those counts
every place it hands out itself (`take`), the moment it hands it out.

So the counts are never behind this process's own acceptances, and a limit is never passed by the
requests of one process, however many arrive at once. They are behind in two ways until the next
count: executions the workers started meanwhile still count (a full queue may refuse for up to one
interval after it drained), and another process's acceptances are not seen yet (on PostgreSQL,
several processes together may pass a limit by what the others accept within one interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.25
"""The least time between two counts: how late another process's acceptances are seen, at best."""
REFRESH_SHARE = 20
"""A count waits at least this many times as long as the last one took, so that counting a long
backlog (per 100,000 queued: about 10 ms on SQLite, 40 ms on PostgreSQL) takes at most 5 % of the time."""


@dataclass(frozen=True, slots=True)
class Full:
    """A limit a new execution would pass: its workflow's (`total` False) or that of all workflows."""

    limit: int
    total: bool


class Backlog:
    """Counts of queued executions (per workflow key, and in all) that refuse what would pass a limit.

    `count` reads the database's counts (`Store.count_queued`). `take` hands out a place and
    `settle` says whether the execution was stored in it; one `settle` follows every place taken.
    `shared`: other processes queue executions in the same database (PostgreSQL), so the counts
    are refreshed at every interval under traffic. Otherwise this process knows every execution
    queued, and counting again only matters near a limit (to see what the workers took since):
    from half of one on.
    """

    def __init__(
        self, count: Callable[[], Awaitable[Mapping[str, int]]], *, total_limit: int, shared: bool
    ) -> None:
        self._count = count
        self._total_limit = total_limit
        self._shared = shared
        self._counted: Mapping[str, int] = {}
        """The database's counts at the last refresh."""
        self._counted_total = 0
        self._taken: dict[str, int] = {}
        """Places this process handed out that the last count may not include (stored or being written)."""
        self._taken_total = 0
        self._stored: dict[str, int] = {}
        """Of those, the ones whose executions are stored: the next count includes them."""
        self._stored_total = 0
        self._due = 0.0
        """When the next count may start (monotonic seconds); infinite while one runs."""
        self._refreshing: asyncio.Task[None] | None = None
        self._counting = asyncio.Lock()
        """One count at a time: each takes the executions stored before it off the places taken."""

    def take(self, key: str, limit: int | None) -> Full | None:
        """Hand out a place for one more queued execution of `key`, or say which limit it would pass.

        `limit` is the workflow's default queue limit (None when its own `queueLimit` applies,
        which the store checks exactly); the total limit applies to every workflow.
        """
        taken = self._taken.get(key, 0)
        queued, queued_total = self._counted.get(key, 0) + taken, self._counted_total + self._taken_total
        if time.monotonic() >= self._due and (
            self._shared or 2 * queued_total >= self._total_limit or (limit and 2 * queued >= limit)
        ):
            self._start_refresh()
        if limit is not None and queued >= limit:
            return Full(limit, total=False)
        if queued_total >= self._total_limit:
            return Full(self._total_limit, total=True)
        self._taken[key] = taken + 1
        self._taken_total += 1
        return None

    def settle(self, key: str, *, stored: bool) -> None:
        """Say what became of a place taken for `key`: its execution is stored, or it never will be."""
        if stored:
            self._stored[key] = self._stored.get(key, 0) + 1
            self._stored_total += 1
        else:
            self._taken[key] -= 1
            self._taken_total -= 1

    async def refresh(self) -> None:
        """Count the queued executions in the database now; on failure, keep the last counts."""
        async with self._counting:
            await self._refresh()

    async def _refresh(self) -> None:
        """Count, and take what the count includes off the places taken."""
        self._due = math.inf
        started = time.monotonic()
        # What is stored by now is in the count; what is stored from here on may be or not, and
        # stays among the places taken (counted twice for a while, never missed).
        stored, stored_total = dict(self._stored), self._stored_total
        try:
            counted = await self._count()
        except Exception as error:  # the next request tries again; the last counts stay meanwhile
            log.warning("counting the queued executions failed: %s", error)
            self._due = time.monotonic() + REFRESH_SECONDS
            return
        self._counted, self._counted_total = counted, sum(counted.values())
        for key, count in stored.items():
            self._forget(key, count)
        self._taken_total -= stored_total
        self._stored_total -= stored_total
        finished = time.monotonic()
        self._due = finished + max(REFRESH_SECONDS, REFRESH_SHARE * (finished - started))

    async def close(self) -> None:
        """Stop a count that is running."""
        task, self._refreshing = self._refreshing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _start_refresh(self) -> None:
        """Count again in the background; the request that asked goes on with the counts it has."""
        self._due = math.inf
        self._refreshing = asyncio.create_task(self.refresh(), name="hookline-backlog")

    def _forget(self, key: str, count: int) -> None:
        """Take `count` stored executions of `key` off the places taken: the count includes them now."""
        taken, stored = self._taken[key] - count, self._stored[key] - count
        if taken:
            self._taken[key], self._stored[key] = taken, stored
        else:  # nothing left of the key: keep the maps as small as the keys in use
            del self._taken[key], self._stored[key]
