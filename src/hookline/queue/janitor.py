"""The janitor: deletes old executions, expired dedupe keys, old rate counts and old captures, in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from hookline.errors import StorageUnavailable
from hookline.models import Workflow
from hookline.store.base import Store
from hookline.store.retention import retention_rules
from hookline.trigger.options import parse_options

log = logging.getLogger(__name__)

RATE_COUNTS_KEPT = timedelta(minutes=5)
"""How long rate-limit windows are kept after they start: a limit reads two periods (two minutes at
most), and the rest leaves room for processes whose clocks disagree."""

CAPTURES_KEPT = timedelta(minutes=1)
"""How long captures are kept after they expire: their listeners stop reading them then (they delete
their own), and the rest leaves room for processes whose clocks disagree."""

UNATTACHED_FILES_KEPT = timedelta(days=1)
"""How long a stored file may wait for its request's execution: a request attaches its files as soon as
the execution is recorded, so one older than this belongs to a process that died on the way (or to a
synchronous run still going after a day, which would lose its files)."""


class Janitor:
    """Applies every workflow's retention option every `interval` seconds.

    Each batch is its own short transaction of at most `batch` executions, and the
    janitor yields between batches, so webhook traffic never waits behind a cleanup.
    """

    def __init__(self, store: Store, *, interval: float = 60.0, batch: int = 500) -> None:
        self._store = store
        self._interval = interval
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Sweep in the background until stopped."""
        self._task = asyncio.create_task(self._loop(), name="hookline-janitor")

    async def stop(self) -> None:
        """Stop sweeping (a batch in progress is abandoned before its commit or after it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def sweep(self, now: datetime | None = None) -> int:
        """One pass over every workflow; returns how many executions it deleted."""
        now = now or datetime.now(UTC)
        deleted = 0
        for current, version_ids in _by_key(await self._store.list_workflows(current_only=False)):
            for rule in retention_rules(parse_options(current.options).retention, version_ids, now):
                deleted += await self._in_batches(self._store.delete_executions, rule)
        return deleted

    async def delete_expired_keys(self, now: datetime | None = None) -> int:
        """Delete the idempotency keys whose window has passed, batch by batch; how many."""
        expired = now or datetime.now(UTC)
        return await self._in_batches(self._store.delete_expired_dedupe_keys, expired)

    async def delete_old_rate_counts(self, now: datetime | None = None) -> int:
        """Delete rate-limit windows that started over `RATE_COUNTS_KEPT` ago, batch by batch; how many."""
        before = (now or datetime.now(UTC)) - RATE_COUNTS_KEPT
        return await self._in_batches(self._store.delete_rate_counts, before)

    async def delete_old_captures(self, now: datetime | None = None) -> int:
        """Delete captures that expired over `CAPTURES_KEPT` ago (their listener left), batch by batch."""
        before = (now or datetime.now(UTC)) - CAPTURES_KEPT
        return await self._in_batches(self._store.delete_expired_captures, before)

    async def settle_unattached_files(self, now: datetime | None = None) -> int:
        """Attach or delete the stored files left unattached over `UNATTACHED_FILES_KEPT` ago; how many.

        A process died between storing a request's files and attaching them: those whose execution
        was recorded join it, those whose request never was are deleted.
        """
        before = (now or datetime.now(UTC)) - UNATTACHED_FILES_KEPT
        return await self._in_batches(self._store.settle_unattached_files, before)

    async def _in_batches(self, delete: Callable[..., Awaitable[int]], what: object) -> int:
        """Call `delete(what, limit=batch)` until it deletes less than a batch, yielding between; how many."""
        deleted = 0
        while True:
            count = await delete(what, limit=self._batch)
            deleted += count
            await asyncio.sleep(0)  # let requests in between batches
            if count < self._batch:
                return deleted

    async def _loop(self) -> None:
        while True:
            try:
                deleted = await self.sweep()
                if deleted:
                    log.info("janitor deleted %d executions past their retention", deleted)
                keys = await self.delete_expired_keys()
                if keys:
                    log.info("janitor deleted %d expired dedupe keys", keys)
                await self.delete_old_rate_counts()  # routine, like the windows themselves: not logged
                await self.delete_old_captures()  # routine too: a listener that left, or a crash
                files = await self.settle_unattached_files()
                if files:  # a process died between storing a request's files and attaching them
                    log.info("janitor settled %d files left unattached", files)
            except StorageUnavailable as exc:
                log.warning("janitor skipped a sweep: %s", exc)
            except Exception:
                # A dead janitor lets executions and dedupe keys pile up unseen: log it, sweep later.
                log.exception("janitor sweep failed; trying again in %.0f s", self._interval)
            await asyncio.sleep(self._interval)


def _by_key(workflows: list[Workflow]) -> list[tuple[Workflow, list[int]]]:
    """For each key with a current version: that version and the ids of all its versions."""
    versions: dict[str, list[Workflow]] = defaultdict(list)
    for workflow in workflows:
        versions[workflow.key].append(workflow)
    grouped = []
    for group in versions.values():
        current = next((w for w in group if w.current), None)
        if current is not None:
            grouped.append((current, [w.id for w in group]))
    return grouped
