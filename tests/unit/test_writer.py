"""The group-commit writer on a real SQLite file: batching, ordering, isolation, limits, close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hookline.errors import StorageUnavailable
from hookline.store.database import create_engine
from hookline.store.write_steps import Insert
from hookline.store.writer import Writer

tables = MetaData()
parents = Table("parents", tables, Column("id", Integer, primary_key=True), Column("name", String(20)))
children = Table(
    "children",
    tables,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("parents.id"), nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An SQLite file with a parents table and a children table that references it."""
    created = create_engine(f"sqlite:///{tmp_path}/writer.db")
    async with created.begin() as connection:
        await connection.run_sync(tables.create_all)
    yield created
    await created.dispose()


@pytest.fixture
async def writer(engine: AsyncEngine) -> AsyncIterator[Writer]:
    """A started writer over that file."""
    started = Writer(engine)
    started.start()
    yield started
    await started.close()


@pytest.fixture
def statements(engine: AsyncEngine) -> list[tuple[str, bool]]:
    """Every statement the engine sends to SQLite, with whether it was an executemany."""
    seen: list[tuple[str, bool]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, many: bool) -> None:
        seen.append((statement.split()[0].upper(), many))

    return seen


def parent(number: int) -> Insert:
    """Insert one parent row."""
    return Insert(parents, [{"id": number, "name": f"p{number}"}])


def child(number: int, parent_id: int) -> Insert:
    """Insert one child row."""
    return Insert(children, [{"id": number, "parent_id": parent_id}])


async def names(engine: AsyncEngine) -> dict[int, str]:
    """The committed parents, as id → name."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(parents.c.id, parents.c.name))).all()
    return {row.id: row.name for row in rows}


def rename(number: int, name: str) -> Any:
    """An action that renames a parent and returns how many rows it changed."""

    async def action(connection: AsyncConnection) -> int:
        result = await connection.execute(update(parents).where(parents.c.id == number).values(name=name))
        return int(result.rowcount)

    return action


async def test_concurrent_writes_commit_in_one_transaction(
    writer: Writer, engine: AsyncEngine, statements: list[tuple[str, bool]]
) -> None:
    """100 writes submitted together cost one transaction with one multi-row insert."""
    await asyncio.gather(*(writer.write(parent(n)) for n in range(100)))
    assert writer.transactions == 1
    assert [s for s in statements if s[0] == "INSERT"] == [("INSERT", True)]
    assert len(await names(engine)) == 100


async def test_merged_inserts_keep_each_writes_order(
    writer: Writer, engine: AsyncEngine, statements: list[tuple[str, bool]]
) -> None:
    """Parents and children of several writes merge per table, parents first, then later updates."""
    writes = [writer.submit(parent(n), child(n, n)) for n in range(1, 6)]
    writes.append(writer.submit(rename(3, "renamed")))
    assert await asyncio.gather(*writes) == [None] * 5 + [1]
    assert [s[0] for s in statements if s[0] in ("INSERT", "UPDATE")] == ["INSERT", "INSERT", "UPDATE"]
    assert (await names(engine))[3] == "renamed"


async def test_a_lone_write_commits_without_waiting(writer: Writer, engine: AsyncEngine) -> None:
    """A single write commits at once and returns its action's value."""
    assert await writer.call(lambda c: c.scalar(select(parents.c.id).limit(1))) is None
    await writer.write(parent(1))
    assert await names(engine) == {1: "p1"}


async def test_failing_write_fails_alone(writer: Writer, engine: AsyncEngine) -> None:
    """A duplicate key in a batch fails only its own caller; every other write is stored."""
    futures = [writer.submit(parent(n)) for n in range(20)]
    futures.append(writer.submit(parent(7)))
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert outcomes[:20] == [None] * 20
    assert isinstance(outcomes[20], IntegrityError)
    assert sorted(await names(engine)) == list(range(20))


async def test_action_error_fails_only_its_caller(writer: Writer, engine: AsyncEngine) -> None:
    """An action raising a plain error fails alone; its own earlier steps are rolled back."""

    async def broken(_connection: AsyncConnection) -> None:
        raise ValueError("bad input")

    first = writer.submit(parent(1))
    bad = writer.submit(parent(2), broken)
    last = writer.submit(parent(3))
    outcomes = await asyncio.gather(first, bad, last, return_exceptions=True)
    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert sorted(await names(engine)) == [1, 3]


async def test_lost_connection_fails_every_caller_as_unavailable(writer: Writer, engine: AsyncEngine) -> None:
    """A connection-level error fails the whole batch with StorageUnavailable and stores nothing."""

    async def cut(_connection: AsyncConnection) -> None:
        raise ConnectionResetError("connection reset by peer")

    futures = [writer.submit(parent(1)), writer.submit(cut), writer.submit(parent(2))]
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(o, StorageUnavailable) for o in outcomes)
    assert await names(engine) == {}
    await writer.write(parent(3))
    assert await names(engine) == {3: "p3"}


async def test_unreachable_server_is_storage_unavailable() -> None:
    """A writer whose database server does not answer fails writes with StorageUnavailable."""
    engine = create_engine("postgresql://postgres@127.0.0.1:1/nothing")
    writer = Writer(engine)
    try:
        with pytest.raises(StorageUnavailable):
            await writer.write(parent(1))
    finally:
        await writer.close()
        await engine.dispose()


async def test_full_queue_refuses_new_writes(engine: AsyncEngine) -> None:
    """When max_pending writes wait, the next one is refused at once; the waiting ones commit."""
    writer = Writer(engine, max_pending=5)
    entered, release = asyncio.Event(), asyncio.Event()

    async def gate(_connection: AsyncConnection) -> None:
        entered.set()
        await release.wait()

    try:
        blocking = writer.submit(gate)
        await entered.wait()
        waiting = [writer.submit(parent(n)) for n in range(5)]
        with pytest.raises(StorageUnavailable):
            writer.submit(parent(99))
        release.set()
        await asyncio.gather(blocking, *waiting)
    finally:
        await writer.close()
    assert sorted(await names(engine)) == list(range(5))


async def test_close_drains_pending_writes(engine: AsyncEngine) -> None:
    """Closing commits every write already submitted, then refuses new ones."""
    writer = Writer(engine, max_batch=7)
    futures = [writer.submit(parent(n)) for n in range(50)]
    await writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert writer.transactions == 8
    assert len(await names(engine)) == 50
    with pytest.raises(StorageUnavailable):
        writer.submit(parent(51))


async def test_slow_write_times_out_as_unavailable(engine: AsyncEngine) -> None:
    """A write that does not commit within the timeout fails as unavailable; the writer carries on."""
    writer = Writer(engine, timeout=1.0)
    never = asyncio.Event()

    async def stuck(_connection: AsyncConnection) -> None:
        await never.wait()

    try:
        with pytest.raises(StorageUnavailable):
            await writer.write(parent(1), stuck)
        await writer.write(parent(2))
    finally:
        await writer.close()
    assert await names(engine) == {2: "p2"}


async def test_each_waiting_write_times_out_at_its_own_deadline(engine: AsyncEngine) -> None:
    """Writes stuck behind a stalled batch fail one timeout after each was written, not all at once.

    The stall ignores cancellation, so the second write never reaches a batch of its own: only
    its own timeout can answer it.
    """
    writer = Writer(engine, timeout=1.0)
    released = asyncio.Event()
    loop = asyncio.get_running_loop()
    failed_at: dict[str, float] = {}

    async def stuck(_connection: AsyncConnection) -> None:
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):  # a driver that does not give up
                await released.wait()

    async def write(name: str, *steps: Any) -> None:
        with pytest.raises(StorageUnavailable):
            await writer.write(*steps)
        failed_at[name] = loop.time()

    try:
        start = loop.time()
        first = asyncio.create_task(write("first", parent(1), stuck))
        await asyncio.sleep(0.6)
        second = asyncio.create_task(write("second", parent(2)))  # queued behind the stall
        await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    finally:
        released.set()
        await writer.close()
    assert failed_at["first"] - start >= 0.99
    assert failed_at["second"] - start >= 1.59  # its own deadline, not the first write's
    assert await names(engine) == {}


async def test_a_write_whose_caller_gave_up_is_never_committed(writer: Writer, engine: AsyncEngine) -> None:
    """A caller told "not stored" must not find its write committed later; the rest of its batch commits."""
    gate = asyncio.Event()
    running = asyncio.Event()

    async def slow(_connection: AsyncConnection) -> None:
        running.set()
        await gate.wait()

    given_up = writer.submit(parent(1), slow)
    kept = writer.submit(parent(2))  # same batch: both were queued before the writer ran
    await asyncio.wait_for(running.wait(), timeout=5)
    given_up.cancel()  # what `write` does when its timeout passes
    gate.set()
    await asyncio.wait_for(kept, timeout=5)
    assert await names(engine) == {2: "p2"}
