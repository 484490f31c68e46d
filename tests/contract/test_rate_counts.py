"""Shared rate-limit counts in the store, on SQLite and PostgreSQL: add, read, and delete old windows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hookline.queue.janitor import RATE_COUNTS_KEPT, Janitor
from hookline.store.sql_store import SqlStore

START = 1_800_000_000
"""A window start, in seconds since the epoch."""


async def test_counts_add_up_and_come_back_as_totals(store: SqlStore) -> None:
    """Each addition returns the window's total so far; windows and buckets are counted apart."""
    first = await store.count_requests({("a/60", START): 3, ("b/60", START): 1})
    assert first == {("a/60", START): 3, ("b/60", START): 1}
    second = await store.count_requests({("a/60", START): 2, ("a/60", START + 60): 1})
    assert second == {("a/60", START): 5, ("a/60", START + 60): 1}


async def test_read_windows_come_back_when_stored(store: SqlStore) -> None:
    """The windows only read are answered with their totals, unless nothing counted them yet."""
    await store.count_requests({("a/1", START): 4})
    totals = await store.count_requests({("a/1", START + 1): 1}, [("a/1", START), ("b/1", START)])
    assert totals == {("a/1", START + 1): 1, ("a/1", START): 4}
    assert await store.count_requests({}, [("a/1", START)]) == {("a/1", START): 4}


async def test_two_stores_adding_at_once_lose_no_count(store: SqlStore, second_store: SqlStore) -> None:
    """Processes adding to the same windows at once (in any order of rows) end with the exact sum."""
    windows = [(f"k{i}/1", START) for i in range(5)]

    async def add(target: SqlStore, order: list[tuple[str, int]]) -> None:
        for _ in range(10):
            await target.count_requests(dict.fromkeys(order, 1))

    await asyncio.gather(add(store, windows), add(second_store, windows[::-1]))
    totals = await store.count_requests({}, windows)
    assert totals == dict.fromkeys(windows, 20)


@pytest.mark.parametrize("batch", [1, 500])
async def test_the_janitor_deletes_old_windows_only(store: SqlStore, batch: int) -> None:
    """Windows that started more than `RATE_COUNTS_KEPT` before now go, in batches; the others stay."""
    now = datetime.fromtimestamp(START, UTC)
    kept = int(RATE_COUNTS_KEPT.total_seconds())
    old = {(f"w{i}/60", START - kept - 60 * i - 1): 1 for i in range(3)}
    recent = {("w0/60", START - kept): 1, ("w0/60", START): 1}
    await store.count_requests(old | recent)
    assert await Janitor(store, batch=batch).delete_old_rate_counts(now) == 3
    assert await store.count_requests({}, [*old, *recent]) == recent
