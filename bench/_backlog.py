"""The queue of the async scenarios: what a run resolved, what it left, how long that took to drain."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select

from hookline.store.schema import executions
from hookline.store.sql_store import SqlStore, open_store

PENDING_STATUSES = ("queued", "started", "waiting")
"""Not finished yet: `waiting` executions (a delay, a request's retry) are part of the backlog too."""


@dataclass(slots=True)
class Backlog:
    """The asynchronous queue around one measured run: what was resolved, and how long it took to drain."""

    resolved_during_load: int
    pending_at_end: int
    drain_seconds: float | None
    final_counts: dict[str, int] = field(default_factory=dict)


async def _status_counts(store: SqlStore) -> dict[str, int]:
    """How many executions have each status."""
    query = select(executions.c.status, func.count()).group_by(executions.c.status)
    async with store.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return {str(status): int(count) for status, count in rows}


async def _pending_count(store: SqlStore) -> int:
    """How many executions are not finished (one scan of the status index, cheap to poll)."""
    query = select(func.count()).where(executions.c.status.in_(PENDING_STATUSES))
    async with store.engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def queue_sample(store: SqlStore) -> tuple[int, int]:
    """How many executions there are and how many are not finished, read in one statement.

    Each accepted request adds one execution. The total is a scan of the narrowest index (tens of
    ms at half a million rows); the pending count reads only their entries of the status index.
    """
    total = select(func.count()).select_from(executions).scalar_subquery()
    pending = select(func.count()).where(executions.c.status.in_(PENDING_STATUSES)).scalar_subquery()
    async with store.engine.connect() as connection:
        row = (await connection.execute(select(total, pending))).one()
    return int(row[0]), int(row[1])


async def count_statuses(url: str) -> dict[str, int]:
    """Execution counts by status in the database at `url`, read beside the running server."""
    store = await open_store(url, migrate=False)
    try:
        return await _status_counts(store)
    finally:
        await store.close()


async def watch_drain(url: str, load_ended: float, before: dict[str, int], limit: float) -> Backlog:
    """Count what the load left queued, then poll until nothing is queued or started (or timeout)."""
    store = await open_store(url, migrate=False)
    try:
        at_end = await _status_counts(store)
        pending = _pending(at_end)
        while pending and time.monotonic() - load_ended < limit:
            await asyncio.sleep(0.1)
            pending = await _pending_count(store)
        drained = None if pending else time.monotonic() - load_ended
        counts = await _status_counts(store)
    finally:
        await store.close()
    resolved = at_end.get("resolved", 0) - before.get("resolved", 0)
    return Backlog(resolved, _pending(at_end), drained, counts)


def _pending(counts: dict[str, int]) -> int:
    return sum(counts.get(status, 0) for status in PENDING_STATUSES)
