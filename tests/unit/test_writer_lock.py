"""The writers of one SQLite file take turns through a lock file beside it, woken by the kernel.

The lock is held from outside, as another process's writer would hold it: a write waits for it,
and goes on the moment it is released.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hookline.store.sql_store import SqlStore, open_store
from tests._factories import make_flow


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A migrated store over an SQLite file of its own."""
    opened = await open_store(f"sqlite:///{tmp_path}/hookline.db")
    yield opened
    await opened.close()


@pytest.fixture
def held(tmp_path: Path) -> Iterator[int]:
    """The writer lock of that file, held (as by another process's writer) until the test releases it."""
    fd = os.open(tmp_path / "hookline.db-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield fd
    finally:
        os.close(fd)


async def test_a_write_waits_for_the_writer_lock_and_commits_once_it_is_released(
    store: SqlStore, held: int
) -> None:
    """While another writer holds the lock nothing commits; released, the write goes through at once."""
    flow = make_flow("orders")
    writing = asyncio.create_task(store.add_flow(flow))
    await asyncio.sleep(0.3)
    assert not writing.done()
    assert await store.get_flow(flow.workflow.id) is None  # nothing committed meanwhile
    fcntl.flock(held, fcntl.LOCK_UN)
    await asyncio.wait_for(writing, 5)
    stored = await store.get_flow(flow.workflow.id)
    assert stored is not None
    assert stored.workflow.key == "orders"


async def test_the_lock_is_released_after_every_transaction(store: SqlStore, tmp_path: Path) -> None:
    """After a write, another writer takes the lock at once (without waiting)."""
    await store.add_flow(make_flow("orders"))
    fd = os.open(tmp_path / "hookline.db-writer.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError while it is held
    finally:
        os.close(fd)
