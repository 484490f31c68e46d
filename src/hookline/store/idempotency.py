"""The idempotency role of the store: who holds a key (`options.dedupe`), and the answer it gave."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from hookline.models import DedupeHolder, DedupeKey, Execution, Job, Limits


class IdempotencyStore(Protocol):
    """Idempotency keys: one key, one run, also across processes."""

    async def add_deduplicated_execution(
        self,
        execution: Execution,
        dedupe: DedupeKey,
        limits: Limits | None,
        *,
        now: datetime,
        jobs: Sequence[Job] = (),
    ) -> DedupeHolder | None:
        """Durably insert a queued (or already finished) execution unless a live holder has its key.

        In one transaction: take the key (free, or expired at `now`) for this execution with
        its `response`, then insert it as `add_limited_execution` does (`limits` may be None),
        and its `jobs` (an execution run before its answer). Returns the key's holder: this
        execution when it was stored, or the earlier one (nothing is stored). None when the
        queue is full: nothing is stored, the key stays free. Two calls with one key never both
        store their executions, also across processes.
        """
        ...

    async def claim_dedupe_key(self, dedupe: DedupeKey, execution_id: int, *, now: datetime) -> DedupeHolder:
        """Take an idempotency key for an execution about to run (no answer yet), unless it is live.

        Returns the key's holder: `execution_id` when the key was free or expired at `now`,
        otherwise the live holder (with its answer, or None while it still runs). Only one of
        concurrent claims of a key wins, also across processes.
        """
        ...

    async def get_dedupe_holder(self, key: str, *, now: datetime) -> DedupeHolder | None:
        """The live holder of an idempotency key at `now`, or None when the key is free or expired."""
        ...

    async def release_dedupe_key(self, key: str, execution_id: int) -> None:
        """Free a key this execution claimed and never answered (its run failed to be recorded)."""
        ...

    async def delete_expired_dedupe_keys(self, now: datetime, *, limit: int) -> int:
        """Delete up to `limit` idempotency keys expired at `now`, oldest first; how many."""
        ...
