"""A worker pool's wake-up timer on uvloop, the loop the server runs: a wait due at once, then another."""

from __future__ import annotations

import asyncio
from pathlib import Path

import uvloop

from hookline.engine.flows import FlowCache
from hookline.queue.worker import WorkerPool
from hookline.store.sql_store import open_store


def test_a_wake_up_due_at_once_then_a_later_one_on_uvloop(tmp_path: Path) -> None:
    """uvloop answers `call_at` for a time less than a millisecond away with a plain `Handle`, which
    has no `when()`: the next wait, compared with it, failed its execution's suspension ("failed
    inside the engine") when many executions suspended together. Both wake-ups are kept, and the first fires.
    """
    assert uvloop.run(_two_wake_ups(f"sqlite:///{tmp_path}/hookline.db"))


async def _two_wake_ups(url: str) -> bool:
    """Ask a pool to wake at once, then in a minute; whether it woke for the first."""
    store = await open_store(url)
    try:
        workers = WorkerPool(store, FlowCache(store), concurrency=1, poll_seconds=60.0)
        loop = asyncio.get_running_loop()
        workers._wake_at(loop.time())  # due at once: a plain Handle on uvloop
        workers._wake_at(loop.time() + 60.0)  # later: compared with the first, which stays
        await asyncio.sleep(0.01)
        return workers._wakeup.is_set()
    finally:
        await store.close()
