"""The rate-limit role of the store: request counts per window, shared by every process."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol

RateWindow = tuple[str, int]
"""A rate-limit window as stored: its bucket (who is counted) and its start, in seconds since the epoch."""


class RateCountStore(Protocol):
    """Request counts of rate-limit windows (`options.rateLimit`)."""

    async def count_requests(
        self, added: Mapping[RateWindow, int], read: Collection[RateWindow] = ()
    ) -> dict[RateWindow, int]:
        """Add to the request counts of rate-limit windows, shared by every process; the totals after.

        The answer holds the total of each `added` window and of each `read` window that has one.
        Counts are not durable: on PostgreSQL a crash of the database may lose them.
        """
        ...

    async def delete_rate_counts(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` rate-limit windows that started before `before`, oldest first; how many."""
        ...
