"""Listen for a test request (docs/api.md#listen-for-a-test-request): arm a capture of a workflow key,
take the next request, wait.

Whoever listens (the admin API, the CLI) arms a capture in the database and polls it; the process
that receives the next request to the key, whichever it is, stores the request there instead of
running it. A process learns that a key is armed when it (re)reads the workflow (`Flow.capture_until`,
at most `HOOKLINE_CACHE_SECONDS` old): arming drops the cached versions of the key in this process
and, on PostgreSQL, in every other one at once (the workflows channel); another process on the same
SQLite file sees it within the cache lifetime. A request to a key with no armed capture pays one
attribute check.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hookline.answers import sendable
from hookline.engine.flows import CompiledFlow, FlowCache
from hookline.errors import StorageUnavailable
from hookline.ids import new_id
from hookline.models import Answer
from hookline.store.base import Store
from hookline.store.capture_store import Capture
from hookline.trigger.context import REDACTED
from hookline.trigger.samples import body_paths, query_paths
from hookline.types import JsonObject

MIN_TIMEOUT = 1.0
"""The shortest wait a listener may ask for, in seconds."""
MAX_TIMEOUT = 300.0
"""The longest wait a listener may ask for, in seconds: a held HTTP request must end some time."""
DEFAULT_TIMEOUT = 60.0
"""How long a capture waits for a request, in seconds, unless told otherwise."""

POLL_SECONDS = 0.25
"""How often a listener reads its capture back: one primary-key read, so four a second cost little."""

CAPTURED_ANSWER: Answer = sendable(202, (), {"captured": True})
"""What a captured request is answered: it was kept for whoever listens, and nothing ran."""


class Captures:
    """Arms captures, hands them requests and waits for them, over the store every process shares.

    `flows` is this process's cache of workflow versions: a change of a key's capture state
    drops its cached versions, here and (through the store) in the other processes.
    """

    def __init__(self, store: Store, flows: FlowCache, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._store = store
        self._flows = flows
        self._poll = poll_seconds

    async def listen(self, key: str, seconds: float) -> Capture | None:
        """Arm a capture of `key` and wait up to `seconds`; the capture with its request, or None.

        The capture is deleted afterwards, also when the wait is cancelled (the listener left),
        so that it takes no request nobody would see.
        """
        capture = await self.arm(key, seconds)
        try:
            return await self.wait(capture)
        finally:
            with contextlib.suppress(StorageUnavailable):  # the janitor deletes it once expired
                await self._store.delete_capture(capture.id)

    async def arm(self, key: str, seconds: float, *, now: datetime | None = None) -> Capture:
        """Store a capture of `key` armed for `seconds`, and tell the processes to look."""
        armed_at = now or datetime.now(UTC)
        capture = Capture(new_id(), key, armed_at, armed_at + timedelta(seconds=seconds))
        await self._store.arm_capture(capture)
        await self._changed(key)
        return capture

    async def wait(self, capture: Capture) -> Capture | None:
        """Poll the capture until it holds a request (the capture then) or has expired (None)."""
        while True:
            found = await self._store.get_capture(capture.id)
            if found is None:
                return None  # deleted: the janitor found it expired
            if found.request is not None:
                return found
            left = (capture.expires_at - datetime.now(UTC)).total_seconds()
            if left <= 0:
                return None
            await asyncio.sleep(min(self._poll, left))

    async def take(self, compiled: CompiledFlow, request: JsonObject) -> bool:
        """Give a request to the key's armed capture instead of running it; False when none is armed."""
        until = compiled.flow.capture_until
        now = datetime.now(UTC)
        if until is None or until <= now:
            return False
        key = compiled.flow.workflow.key
        taken = await self._store.take_capture(key, request, now=now)
        # Taken or not, what this process knows of the key's captures is stale: read it again.
        await self._changed(key)
        return taken is not None

    async def _changed(self, key: str) -> None:
        """Drop the cached versions of `key` here, and in the other processes on PostgreSQL."""
        self._flows.forget(key)
        await self._store.announce_workflow_change(key)


def captured_request(
    method: str, context: Mapping[str, Any], content_type: str | None, received_at: datetime
) -> JsonObject:
    """What a capture keeps of a request: its method, its context's parts, its Content-Type and time."""
    return {
        "method": method,
        "headers": context["headers"],
        "query": context["query"],
        "body": context["body"],
        "contentType": content_type,
        "receivedAt": received_at.isoformat(),
    }


def request_paths(request: Mapping[str, Any]) -> dict[str, list[str]]:
    """The paths a trigger config can name in a captured request, as "parse from a sample" gives them.

    Header names (the redacted credentials left out: their values never reach a workflow), the
    query's `a`, `a[0]`, `a[0].b` paths, and the body's dotted paths.
    """
    headers = request.get("headers") or {}
    return {
        "headers": [name for name, value in headers.items() if value != REDACTED],
        "query": query_paths(request.get("query")),
        "body": body_paths(request.get("body")),
    }


def capture_view(capture: Capture | None) -> JsonObject:
    """The JSON view of a capture: the request with its paths, or `{"status": "expired"}` without one."""
    if capture is None or capture.request is None:
        return {"status": "expired"}
    return {"status": "captured", "request": capture.request, "paths": request_paths(capture.request)}
