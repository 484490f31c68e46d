"""The SQL of "listen for a test request": arm a capture, give it a request, read it, delete it.

A capture is armed while its `captured_at` is NULL and its `expires_at` is in the future. A
request takes the oldest armed capture of its key: on PostgreSQL it locks that row with `FOR
UPDATE SKIP LOCKED`, so two processes taking at once never both get one capture (the second
takes the next one, or none); SQLite's one writer runs the takes one after the other.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, RowMapping

from hookline.models import Flow
from hookline.store.capture_store import Capture
from hookline.store.schema import captures
from hookline.store.write_steps import Insert
from hookline.types import JsonObject

_c = captures.c


def arm(capture: Capture) -> Insert:
    """The writer step storing a newly armed capture (no request yet)."""
    row = {
        "id": capture.id,
        "key": capture.key,
        "armed_at": capture.armed_at,
        "expires_at": capture.expires_at,
    }
    return Insert(captures, [row])


def to_capture(row: RowMapping) -> Capture:
    """A Capture from its row."""
    return Capture(
        id=row["id"],
        key=row["key"],
        armed_at=row["armed_at"],
        expires_at=row["expires_at"],
        request=row["request"],
        captured_at=row["captured_at"],
    )


def _armed(key: str, now: datetime) -> Any:
    """The condition of the captures of `key` still waiting for a request at `now`."""
    return (_c.key == key) & _c.captured_at.is_(None) & (_c.expires_at > now)


def with_capture(connection: Connection, flow: Flow | None, now: datetime) -> Flow | None:
    """The flow with `capture_until` set when a capture of its key is armed at `now`."""
    if flow is None:
        return None
    until = connection.scalar(select(func.max(_c.expires_at)).where(_armed(flow.workflow.key, now)))
    return flow if until is None else replace(flow, capture_until=until)


def take(connection: Connection, key: str, request: JsonObject, now: datetime, *, lock: bool) -> int | None:
    """Store `request` in the oldest capture of `key` armed at `now`; its id, or None.

    `lock` (PostgreSQL): skip a capture another transaction is taking rather than wait for it.
    """
    chosen = select(_c.id).where(_armed(key, now)).order_by(_c.id).limit(1)
    if lock:
        chosen = chosen.with_for_update(skip_locked=True)
    capture_id: int | None = connection.scalar(chosen)
    if capture_id is not None:
        connection.execute(
            update(captures).where(_c.id == capture_id).values(request=request, captured_at=now)
        )
    return capture_id


def get(connection: Connection, capture_id: int) -> Capture | None:
    """One capture by id, or None."""
    row = connection.execute(select(captures).where(_c.id == capture_id)).mappings().first()
    return None if row is None else to_capture(row)


def delete_one(capture_id: int) -> Any:
    """The statement deleting one capture."""
    return delete(captures).where(_c.id == capture_id)


def delete_expired(connection: Connection, before: datetime, limit: int, *, lock: bool) -> int:
    """Delete up to `limit` captures that expired before `before`, oldest first; how many.

    `lock` (PostgreSQL): skip the captures a request is taking right now rather than wait for them.
    """
    chosen = select(_c.id).where(_c.expires_at < before).order_by(_c.expires_at).limit(limit)
    if lock:
        chosen = chosen.with_for_update(skip_locked=True)
    ids = list(connection.execute(chosen).scalars())
    if ids:
        connection.execute(delete(captures).where(_c.id.in_(ids)))
    return len(ids)
