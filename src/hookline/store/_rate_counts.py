"""The SQL of shared rate-limit counts: add to some windows' counts, read others, delete old ones.

An addition is an `INSERT … ON CONFLICT (bucket, window_start) DO UPDATE SET count = count +
excluded.count RETURNING …` for all the windows a process flushes at once. Its rows go in one order
(sorted) in every process: two flushes then lock the rows they share in the same order, so they
wait for each other but never in a cycle (a deadlock).

On PostgreSQL the addition and the reads are one prepared statement sent on the pooled connection's
bare asyncpg connection, in its own implicit transaction: one round trip, whatever the number of
windows. Through SQLAlchemy's engine, 1,000 windows took half a second (its "insertmanyvalues" sent
them one by one), and even one took four round trips (BEGIN, the two statements, COMMIT).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import asyncpg
from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from hookline.store.rate_count_store import RateWindow
from hookline.store.schema import rate_counts

_c = rate_counts.c


async def add_on_postgres(
    connection: asyncpg.Connection, added: Mapping[RateWindow, int], read: Collection[RateWindow]
) -> dict[RateWindow, int]:
    """Add to the counts of the `added` windows; the totals of those and of the `read` ones (when stored)."""
    rows = sorted(added.items())
    wanted = [window for window in read if window not in added]
    found = await connection.fetch(
        _POSTGRES_ADD,
        [bucket for (bucket, _), _ in rows],
        [start for (_, start), _ in rows],
        [count for _, count in rows],
        [bucket for bucket, _ in wanted],
        [start for _, start in wanted],
    )
    return {(row["bucket"], row["window_start"]): row["count"] for row in found}


def add(
    connection: Connection, added: Mapping[RateWindow, int], read: Collection[RateWindow]
) -> dict[RateWindow, int]:
    """`add_on_postgres` through SQLAlchemy, for SQLite (its one writer is in-process: no round trips)."""
    totals: dict[RateWindow, int] = {}
    for (bucket, start), count in sorted(added.items()):
        row = connection.execute(_SQLITE_ADD, {"bucket": bucket, "window_start": start, "count": count}).one()
        totals[bucket, start] = row[0]
    wanted = [window for window in read if window not in totals]
    if wanted:
        query = select(_c.bucket, _c.window_start, _c.count).where(
            tuple_(_c.bucket, _c.window_start).in_(wanted)
        )
        totals.update(((bucket, start), count) for bucket, start, count in connection.execute(query))
    return totals


def delete_before(connection: Connection, start: int, limit: int, *, lock: bool) -> int:
    """Delete up to `limit` windows that started before `start`, oldest first; how many.

    `lock` (PostgreSQL): skip the rows a flush is adding to right now rather than wait for them.
    """
    chosen = select(_c.bucket, _c.window_start).where(_c.window_start < start)
    chosen = chosen.order_by(_c.window_start).limit(limit)
    if lock:
        chosen = chosen.with_for_update(skip_locked=True)
    windows = [(row.bucket, row.window_start) for row in connection.execute(chosen)]
    if windows:
        connection.execute(delete(rate_counts).where(tuple_(_c.bucket, _c.window_start).in_(windows)))
    return len(windows)


def _sqlite_add() -> Any:
    """One window's addition, in SQLite's INSERT … ON CONFLICT form."""
    statement = sqlite.insert(rate_counts)
    added = statement.on_conflict_do_update(
        index_elements=[_c.bucket, _c.window_start], set_={"count": _c.count + statement.excluded.count}
    )
    return added.returning(_c.count)


_SQLITE_ADD = _sqlite_add()

_POSTGRES_ADD = """
WITH added AS (
    INSERT INTO rate_counts AS r (bucket, window_start, count)
    SELECT a.bucket, a.window_start, a.count
    FROM unnest($1::VARCHAR[], $2::BIGINT[], $3::INTEGER[])
        WITH ORDINALITY AS a (bucket, window_start, count, n)
    ORDER BY a.n
    ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + excluded.count
    RETURNING r.bucket, r.window_start, r.count
)
SELECT bucket, window_start, count FROM added
UNION ALL
SELECT r.bucket, r.window_start, r.count
FROM rate_counts AS r
JOIN unnest($4::VARCHAR[], $5::BIGINT[]) AS w (bucket, window_start)
    ON r.bucket = w.bucket AND r.window_start = w.window_start
"""
"""Additions (in the order given) and reads in one statement. The reads see the table as it was
before the additions, so a window both added and read is only added (`add_on_postgres` sees to it)."""
