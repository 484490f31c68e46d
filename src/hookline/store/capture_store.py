"""The captures role of the store: "listen for a test request", armed in one process, filled in any."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hookline.types import JsonObject


@dataclass(frozen=True, slots=True)
class Capture:
    """A "listen for a test request" capture: armed for a workflow key until `expires_at`.

    `request` is the request it took (at `captured_at`), None while it is still armed.
    """

    id: int
    key: str
    armed_at: datetime
    expires_at: datetime
    request: JsonObject | None = None
    captured_at: datetime | None = None


class CaptureStore(Protocol):
    """Captures: armed for a workflow key, given the next request to it, deleted when done or expired."""

    async def arm_capture(self, capture: Capture) -> None:
        """Durably store a new, armed capture (its `request` is ignored)."""
        ...

    async def take_capture(self, key: str, request: JsonObject, *, now: datetime) -> int | None:
        """Give a request to the oldest capture of `key` armed at `now`; its id, None when there is none.

        Only one of concurrent takes gets a capture, also across processes.
        """
        ...

    async def get_capture(self, capture_id: int) -> Capture | None:
        """One capture by id, or None."""
        ...

    async def delete_capture(self, capture_id: int) -> None:
        """Delete a capture (armed or not); nothing when it is gone already."""
        ...

    async def delete_expired_captures(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` captures that expired before `before`, oldest first; how many."""
        ...
