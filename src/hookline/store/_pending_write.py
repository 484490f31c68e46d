"""A write waiting for its COMMIT, and the rule that orders its timeout against that COMMIT.

A caller must never hear "not stored" for a write that then commits: `start_commit`,
`undo_commit` and `expire` decide under one lock, taken on the event loop or on a fast path's
thread, and the writer answers its callers with `settle`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hookline.errors import StorageUnavailable
from hookline.store.write_steps import Step

_COMMIT_LOCK = threading.Lock()
"""Orders a write's timeout against its batch's decision to commit (taken on the fast path's thread)."""


@dataclass(slots=True)
class PendingWrite:
    """A submitted write and the future its caller awaits.

    `detached`: the caller giving up (its task cancelled) does not withdraw the write, only
    its timeout does. `expired` and `committing` are only changed under `_COMMIT_LOCK`: a write
    either expires (its caller is told "not stored" and the batch must not commit it) or is
    committing (its caller then waits for the real outcome), never both.
    """

    steps: tuple[Step, ...]
    future: asyncio.Future[Any]
    detached: bool = False
    expired: bool = False
    committing: bool = False
    """Set just before COMMIT: from then on the caller waits for the real outcome."""
    overdue: bool = False
    """Its timeout passed while committing (it expires if that COMMIT turns out refused)."""
    deadline: float | None = None
    """When its timeout passes (loop time); None for a write without one (`submit`)."""

    @property
    def withdrawn(self) -> bool:
        """Whether the write must not be committed: timed out, cancelled by its submitter, or answered."""
        future = self.future
        return self.expired or (future.done() and not (self.detached and future.cancelled()))


class GaveUp(Exception):
    """A caller of the batch gave up before COMMIT; the batch is rolled back and rerun without it."""


def start_commit(batch: list[PendingWrite]) -> None:
    """Just before COMMIT: `GaveUp` if a caller gave up, otherwise every caller waits for COMMIT.

    Runs on the loop or on the fast path's thread; the lock orders it against `expire`.
    Reading a submitted future's cancellation from the thread is safe under the GIL.
    """
    with _COMMIT_LOCK:
        if any(write.withdrawn for write in batch):
            raise GaveUp  # a caller timed out meanwhile and was told "not stored"
        for write in batch:
            write.committing = True


def undo_commit(batch: list[PendingWrite]) -> None:
    """The server refused what would have committed the batch: its writes are not committing any more.

    Nothing of it was stored, so a caller whose timeout passed meanwhile is told so now and its
    write is not rerun; the others wait for the one-by-one reruns with their timeout in force.
    """
    with _COMMIT_LOCK:
        overdue = [write for write in batch if write.overdue]
        for write in batch:
            write.committing = False
            write.overdue = False
        for write in overdue:
            write.expired = True
    for write in overdue:
        if not write.future.done():
            write.future.set_exception(StorageUnavailable("The database did not store this write in time."))


def expire(write: PendingWrite) -> None:
    """A write's timeout: unless its COMMIT is under way, it is never committed and fails now."""
    with _COMMIT_LOCK:
        if write.committing:
            write.overdue = True
            return  # answering "not stored" now could be a lie: the caller waits for the outcome
        write.expired = True
    if not write.future.done():
        write.future.set_exception(StorageUnavailable("The database did not store this write in time."))


def settle(writes: list[PendingWrite], error: Callable[[], BaseException]) -> None:
    """Fail every write whose caller still waits, each with its own exception object."""
    for write in writes:
        if not write.future.done():
            write.future.set_exception(error())


def settle_all(writes: list[PendingWrite], error: BaseException) -> None:
    """Fail every write whose caller still waits with one error."""
    settle(writes, lambda: error)


def mark_read(future: asyncio.Future[Any]) -> None:
    """Retrieve a future's outcome so asyncio does not log an exception nobody awaited."""
    if not future.cancelled():
        future.exception()
