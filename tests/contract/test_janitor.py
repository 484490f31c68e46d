"""The janitor applies each workflow's retention option, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from hookline.models import ExecutionStatus
from hookline.queue.janitor import Janitor
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore
from tests._factories import DAY, NOW, make_execution, make_flow, stored, with_retention


async def remaining(store: SqlStore) -> set[int]:
    """The ids of every execution still stored."""
    return {e.id for e in await store.list_executions(ExecutionFilter(limit=1000))}


async def test_success_days_delete_only_old_successes(store: SqlStore) -> None:
    """`successDays` deletes resolved executions older than that and keeps failed ones and recent ones."""
    flow = with_retention(make_flow("keep-failed"), {"successDays": 7})
    await store.add_flow(flow)
    old_ok = await stored(store, flow, ExecutionStatus.RESOLVED, 8)
    new_ok = await stored(store, flow, ExecutionStatus.RESOLVED, 6)
    old_failed = await stored(store, flow, ExecutionStatus.FAILED, 30)
    queued = make_execution(flow, created_at=NOW - 40 * DAY)
    await store.add_execution(queued)

    assert await Janitor(store).sweep(NOW) == 1
    assert await remaining(store) == {new_ok, old_failed, queued.id}
    assert old_ok not in await remaining(store)


async def test_success_days_zero_keeps_failed_executions_only(store: SqlStore) -> None:
    """`successDays: 0` deletes every finished success and keeps every failure."""
    flow = with_retention(make_flow("failed-only"), {"successDays": 0})
    await store.add_flow(flow)
    await stored(store, flow, ExecutionStatus.RESOLVED, 0.01)
    errored = await stored(store, flow, ExecutionStatus.ERROR, 0.01)
    assert await Janitor(store).sweep(NOW) == 1
    assert await remaining(store) == {errored}


async def test_max_age_deletes_every_final_status(store: SqlStore) -> None:
    """`maxAgeDays` deletes finished executions of any status past that age, in small batches."""
    flow = with_retention(make_flow("max-age"), {"maxAgeDays": 30})
    await store.add_flow(flow)
    old = [await stored(store, flow, status, 31) for status in ExecutionStatus if status.is_final]
    young = await stored(store, flow, ExecutionStatus.FAILED, 29)
    before = store.writer.transactions
    assert await Janitor(store, batch=2).sweep(NOW) == len(old)
    assert await remaining(store) == {young}
    assert store.writer.transactions - before >= len(old) // 2  # several short transactions


async def test_without_retention_everything_is_kept_and_other_workflows_are_untouched(
    store: SqlStore,
) -> None:
    """A workflow without the option keeps everything, even when another workflow's rule would match."""
    keep = make_flow("keep-all")
    purge = with_retention(make_flow("purge"), {"maxAgeDays": 1})
    await store.add_flow(keep)
    await store.add_flow(purge)
    kept = await stored(store, keep, ExecutionStatus.RESOLVED, 400)
    await stored(store, purge, ExecutionStatus.RESOLVED, 400)
    assert await Janitor(store).sweep(NOW) == 1
    assert await remaining(store) == {kept}


async def test_the_current_versions_option_applies_to_every_version(store: SqlStore) -> None:
    """Executions of older versions follow the retention of the key's current version."""
    first = make_flow("versioned")
    await store.add_flow(first)
    old_version_run = await stored(store, first, ExecutionStatus.RESOLVED, 10)
    second = with_retention(make_flow("versioned"), {"successDays": 5})
    await store.add_flow(second)
    assert await Janitor(store).sweep(NOW) == 1
    assert old_version_run not in await remaining(store)


async def test_an_unexpected_error_in_a_sweep_does_not_stop_the_janitor(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A sweep that raises something unexpected is logged, and the next sweep still runs."""
    sweeps: list[int] = []
    janitor = Janitor(store, interval=0.01)

    async def sweep(now: object = None) -> int:
        sweeps.append(1)
        if len(sweeps) == 1:
            raise RuntimeError("surprise in a sweep")
        return 0

    janitor.sweep = sweep  # type: ignore[method-assign]
    janitor.start()
    try:
        async with asyncio.timeout(5.0):
            while len(sweeps) < 3:  # noqa: ASYNC110 - the janitor's own loop counts them
                await asyncio.sleep(0.01)
    finally:
        await janitor.stop()
    assert "janitor sweep failed" in caplog.text
