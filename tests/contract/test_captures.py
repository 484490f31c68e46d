"""Captures ("listen for a test request") in the store, on SQLite and PostgreSQL: arm, take, expire."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from hookline.ids import new_id
from hookline.queue.janitor import CAPTURES_KEPT, Janitor
from hookline.store.capture_store import Capture
from hookline.store.sql_store import SqlStore
from tests._factories import make_flow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REQUEST = {"method": "POST", "headers": {"x-a": "1"}, "query": {}, "body": {"n": 1}}


def new_key() -> str:
    """A workflow key no other test uses (the PostgreSQL database is shared by the session)."""
    return f"capture-{secrets.token_hex(6)}"


async def armed(store: SqlStore, key: str, *, at: datetime = NOW, seconds: float = 60) -> Capture:
    """A capture of `key` armed at `at` for `seconds`, stored."""
    capture = Capture(new_id(), key, at, at + timedelta(seconds=seconds))
    await store.arm_capture(capture)
    return capture


async def test_an_armed_capture_takes_one_request_only(store: SqlStore) -> None:
    """The first request is stored in the capture with its time; the next one finds none armed."""
    key = new_key()
    capture = await armed(store, key)
    assert await store.take_capture(key, REQUEST, now=NOW + timedelta(seconds=1)) == capture.id
    assert await store.take_capture(key, {"n": 2}, now=NOW + timedelta(seconds=2)) is None
    taken = await store.get_capture(capture.id)
    assert taken is not None
    assert taken.request == REQUEST
    assert taken.captured_at == NOW + timedelta(seconds=1)
    assert (taken.key, taken.armed_at, taken.expires_at) == (key, capture.armed_at, capture.expires_at)


async def test_a_capture_is_armed_for_its_key_until_it_expires(store: SqlStore) -> None:
    """Another key's request, or one at or after the expiry, takes nothing; the capture stays empty."""
    key = new_key()
    capture = await armed(store, key, seconds=10)
    assert await store.take_capture(new_key(), REQUEST, now=NOW) is None
    assert await store.take_capture(key, REQUEST, now=capture.expires_at) is None
    found = await store.get_capture(capture.id)
    assert found is not None
    assert found.request is None
    assert found.captured_at is None


async def test_the_oldest_armed_capture_of_a_key_is_taken_first(store: SqlStore) -> None:
    """Two listeners of one key each get one request, in the order they armed."""
    key = new_key()
    first, second = await armed(store, key), await armed(store, key)
    assert await store.take_capture(key, {"n": 1}, now=NOW) == first.id
    assert await store.take_capture(key, {"n": 2}, now=NOW) == second.id


async def test_concurrent_takes_in_two_processes_fill_one_capture_once(
    store: SqlStore, second_store: SqlStore
) -> None:
    """Of many requests taking at once through two stores, exactly one gets the one armed capture."""
    key = new_key()
    capture = await armed(store, key)
    takes = [(store if n % 2 else second_store).take_capture(key, {"n": n}, now=NOW) for n in range(20)]
    taken = await asyncio.gather(*takes)
    assert [found for found in taken if found is not None] == [capture.id]


async def test_the_live_flow_says_until_when_a_capture_is_armed(store: SqlStore) -> None:
    """`get_live_flow` carries the latest armed expiry of its key, and None once it is taken."""
    flow = make_flow(new_key())
    await store.add_flow(flow)
    key = flow.workflow.key
    loaded = await store.get_live_flow(key)
    assert loaded is not None
    assert loaded.capture_until is None
    now = datetime.now(UTC)
    await armed(store, key, at=now, seconds=30)
    later = await armed(store, key, at=now, seconds=60)
    loaded = await store.get_live_flow(key)
    assert loaded is not None
    assert loaded.capture_until == later.expires_at
    assert loaded.nodes == flow.nodes
    for _ in range(2):
        assert await store.take_capture(key, REQUEST, now=datetime.now(UTC)) is not None
    loaded = await store.get_live_flow(key)
    assert loaded is not None
    assert loaded.capture_until is None


async def test_a_deleted_capture_is_gone(store: SqlStore) -> None:
    """A listener that leaves deletes its capture: it reads as None and takes no request."""
    key = new_key()
    capture = await armed(store, key)
    await store.delete_capture(capture.id)
    await store.delete_capture(capture.id)  # deleting twice is harmless
    assert await store.get_capture(capture.id) is None
    assert await store.take_capture(key, REQUEST, now=NOW) is None


@pytest.mark.parametrize("batch", [1, 500])
async def test_the_janitor_deletes_captures_long_expired_only(store: SqlStore, batch: int) -> None:
    """Captures that expired over `CAPTURES_KEPT` ago go, in batches; recent and armed ones stay."""
    key = new_key()
    far = datetime(2000, 1, 1, tzinfo=UTC)  # older than anything another test of the session left
    kept = CAPTURES_KEPT.total_seconds()
    old = [await armed(store, key, at=far - timedelta(seconds=kept + 10 + i), seconds=1) for i in range(3)]
    recent = await armed(store, key, at=far - timedelta(seconds=kept - 10), seconds=1)
    waiting = await armed(store, key, at=far, seconds=60)
    assert await Janitor(store, batch=batch).delete_old_captures(far) == 3
    for capture in old:
        assert await store.get_capture(capture.id) is None
    for capture in (recent, waiting):
        assert await store.get_capture(capture.id) is not None
