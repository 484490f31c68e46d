"""The writers of one SQLite file take turns through a lock file beside it, woken by the kernel.

The lock is held from outside, as another process's writer would hold it: a write waits for it,
and goes on the moment it is released.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hookline.store._sqlite_writer import WRITER_PRIORITY_BOOST, raise_thread_priority
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


def _writer_thread(store: SqlStore) -> threading.Thread:
    """The thread the store's SQLite writer commits on (started by its first write)."""
    direct = store.writer._direct
    assert direct is not None
    thread = direct._thread._thread
    assert thread is not None
    return thread


def _may_raise_priority() -> bool:
    """Whether this process may run a thread above its own priority (CAP_SYS_NICE, as root)."""
    result: list[bool] = []
    probe = threading.Thread(target=lambda: result.append(raise_thread_priority(1)))
    probe.start()
    probe.join()
    return result[0]


async def test_the_writer_thread_runs_above_its_process_where_permitted(store: SqlStore) -> None:
    """The thread holding the write lock asks for a higher priority: preempted, it stalls every writer."""
    if not _may_raise_priority():
        pytest.skip("this process may not raise a thread's priority (no CAP_SYS_NICE)")
    await store.add_flow(make_flow("orders"))
    thread = _writer_thread(store)
    assert thread.native_id is not None
    process = os.getpriority(os.PRIO_PROCESS, os.getpid())
    assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == process - WRITER_PRIORITY_BOOST


async def test_a_refused_priority_leaves_the_writer_at_its_process_priority_and_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the permission (an unprivileged user, a default container), writes commit all the same."""

    def refuse(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "setpriority", refuse)
    store = await open_store(f"sqlite:///{tmp_path}/hookline.db")
    try:
        flow = make_flow("orders")
        await store.add_flow(flow)
        assert await store.get_flow(flow.workflow.id) is not None
        thread = _writer_thread(store)
        assert thread.native_id is not None
        process = os.getpriority(os.PRIO_PROCESS, os.getpid())
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == process
    finally:
        await store.close()
