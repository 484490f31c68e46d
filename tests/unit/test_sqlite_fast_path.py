"""The writer's SQLite fast path: same stored bytes, same batching, failures and timeouts as before."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import exc, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hookline.errors import StorageUnavailable
from hookline.ids import new_id
from hookline.models import Execution, ExecutionStatus, Flow, Job, JobStatus, Workflow
from hookline.store import _statements as sql
from hookline.store._rows import execution_row, job_row, to_execution
from hookline.store._sqlite_writer import _encode_timestamp, column_encoder
from hookline.store.database import create_engine
from hookline.store.migrate import upgrade
from hookline.store.schema import UtcDateTime, executions, jobs
from hookline.store.sql_store import SqlStore, open_store
from hookline.store.write_steps import Insert, Sync
from hookline.store.writer import Writer

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ELSEWHERE = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite file holding one workflow (id 1)."""
    created = create_engine(f"sqlite:///{tmp_path}/fast.db")
    await upgrade(created)
    async with created.begin() as connection:
        await connection.run_sync(lambda c: sql.insert_flow(c, Flow(_workflow(), ()), NOW))
    yield created
    await created.dispose()


@pytest.fixture
async def direct(engine: AsyncEngine) -> AsyncIterator[Writer]:
    """A writer on the fast path."""
    writer = Writer(engine, direct_sqlite=True)
    yield writer
    await writer.close()


def _workflow() -> Workflow:
    return Workflow(id=1, key="orders", title="Orders", sync=True, enabled=True)


def _execution(number: int, **fields: Any) -> Execution:
    """An execution with every kind of value: JSON documents, null JSON, several time zones."""
    values: dict[str, Any] = {
        "id": number,
        "workflow_id": 1,
        "key": "orders",
        "event_key": f"event-{number}",
        "context": {"headers": {"x": "é"}, "body": {"n": [1, 2.5, None, True]}, "query": {}},
        "status": ExecutionStatus.RESOLVED,
        "created_at": NOW,
        "output": 2.0,
        "response": {"statusCode": 200, "headers": [], "body": "ok"},
        "started_at": NOW.astimezone(ELSEWHERE),
        "finished_at": NOW + timedelta(microseconds=1),
        "attempt": 1,
        "error": None,
    }
    values.update(fields)
    return Execution(**values)


def _job(number: int, execution_id: int) -> Job:
    return Job(
        id=number,
        execution_id=execution_id,
        node_id=5,
        node_key="n",
        status=JobStatus.RESOLVED,
        result=None,
        meta={"branch": 1},
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        finished_at=None,
    )


_RAW_QUERIES = {
    "executions": "SELECT *, typeof(context), typeof(output) FROM executions",
    "jobs": "SELECT *, typeof(result), typeof(meta) FROM jobs",
}


def _raw_rows(database: Path, table: str) -> list[tuple[Any, ...]]:
    """The stored values as SQLite holds them, with their storage classes."""
    connection = sqlite3.connect(database)
    try:
        query = _RAW_QUERIES[table]
        rows = connection.execute(query)
        return [tuple(row) for row in rows]
    finally:
        connection.close()


async def _store_both_ways(tmp_path: Path, execution: Execution, job: Job) -> tuple[Path, Path]:
    """Write the same records through the SQLAlchemy path and through the fast path."""
    files = []
    for direct in (False, True):
        database = tmp_path / f"{'direct' if direct else 'sqlalchemy'}.db"
        engine = create_engine(f"sqlite:///{database}")
        await upgrade(engine)
        writer = Writer(engine, direct_sqlite=direct)
        try:
            await writer.run(lambda c: sql.insert_flow(c, Flow(_workflow(), ()), NOW))
            await writer.write(Insert(executions, [execution_row(execution)]), Insert(jobs, [job_row(job)]))
        finally:
            await writer.close()
            await engine.dispose()
        files.append(database)
    return files[0], files[1]


async def test_fast_path_stores_the_same_values_as_sqlalchemy(tmp_path: Path) -> None:
    """Every column of an execution and a job is stored identically (text, numbers, nulls, JSON null)."""
    via_sqlalchemy, via_fast_path = await _store_both_ways(tmp_path, _execution(10), _job(20, 10))
    for table in ("executions", "jobs"):
        assert _raw_rows(via_fast_path, table) == _raw_rows(via_sqlalchemy, table)
    output, output_type = (
        _raw_rows(via_fast_path, "executions")[0][6],
        _raw_rows(via_fast_path, "executions")[0][-1],
    )
    assert (output, output_type) == (2, "integer")  # a JSON 2.0 gets SQLite's numeric affinity


async def test_a_row_written_by_the_fast_path_reads_back_identically(tmp_path: Path) -> None:
    """A SqlStore on an SQLite file (fast path) gives back exactly the execution and jobs it stored."""
    store = await open_store(f"sqlite:///{tmp_path}/hookline.db")
    try:
        await store.add_flow(Flow(_workflow(), ()))
        execution = _execution(new_id(), status=ExecutionStatus.QUEUED, output=None, finished_at=None)
        job = _job(new_id(), execution.id)
        await store.add_execution(execution, [job])
        stored = await store.get_execution(execution.id)
        assert stored == execution  # aware timestamps compare as instants
        assert stored is not None
        assert stored.started_at is not None
        assert stored.started_at.tzinfo is UTC
        assert await store.list_jobs(execution.id) == [job]
    finally:
        await store.close()


async def test_concurrent_writes_share_one_fast_transaction(direct: Writer, engine: AsyncEngine) -> None:
    """Writes submitted together commit in one transaction, each answered with its own value."""
    writes = [direct.submit(Insert(executions, [execution_row(_execution(n))])) for n in range(1, 41)]
    writes.append(direct.submit(Sync(lambda c: sql.rowcount(c, select(executions.c.id)))))
    outcomes = await asyncio.gather(*writes)
    assert direct.transactions == 1
    assert outcomes[:40] == [None] * 40
    assert await _count(engine) == 40


async def test_a_duplicate_fails_alone_with_sqlalchemys_error(direct: Writer, engine: AsyncEngine) -> None:
    """A duplicate event key is an IntegrityError for its caller only; the rest of the batch is stored."""
    writes = [direct.submit(Insert(executions, [execution_row(_execution(n))])) for n in range(1, 11)]
    writes.append(direct.submit(Insert(executions, [execution_row(_execution(99, event_key="event-3"))])))
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert outcomes[:10] == [None] * 10
    assert isinstance(outcomes[10], exc.IntegrityError)
    assert "event_key" in str(outcomes[10].orig)
    assert await _count(engine) == 10


async def test_a_failing_step_rolls_back_its_own_inserts(direct: Writer, engine: AsyncEngine) -> None:
    """A synchronous step that raises fails its write (inserts included) and nothing else."""

    def broken(_connection: Connection) -> None:
        raise ValueError("bad input")

    first = direct.submit(Insert(executions, [execution_row(_execution(1))]))
    bad = direct.submit(Insert(executions, [execution_row(_execution(2))]), Sync(broken))
    last = direct.submit(Insert(executions, [execution_row(_execution(3))]))
    outcomes = await asyncio.gather(first, bad, last, return_exceptions=True)
    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert await _ids(engine) == [1, 3]


async def test_steps_and_inserts_keep_their_order(direct: Writer, engine: AsyncEngine) -> None:
    """An update after an insert in the same batch sees the inserted row, and returns its count."""
    change = update(executions).where(executions.c.id == 1).values(error="changed")
    inserted = direct.submit(Insert(executions, [execution_row(_execution(1))]))
    changed = direct.submit(Sync(lambda c: sql.rowcount(c, change)))
    assert await asyncio.gather(inserted, changed) == [None, 1]
    async with engine.connect() as connection:
        assert await connection.scalar(select(executions.c.error)) == "changed"


async def test_a_naive_timestamp_is_refused_like_sqlalchemy_does(direct: Writer) -> None:
    """A timestamp without a time zone cannot be stored: a StatementError, as on the other path."""
    naive = _execution(1, created_at=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(exc.StatementError, match="timezone-aware"):
        await direct.write(Insert(executions, [execution_row(naive)]))


async def test_a_locked_database_is_storage_unavailable(engine: AsyncEngine, tmp_path: Path) -> None:
    """While another process holds the write lock, a write fails as unavailable within its timeout."""
    writer = Writer(engine, timeout=1.0, direct_sqlite=True)
    blocker = sqlite3.connect(tmp_path / "fast.db", isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageUnavailable):
            await writer.write(Insert(executions, [execution_row(_execution(1))]))
        blocker.execute("ROLLBACK")
        await writer.write(Insert(executions, [execution_row(_execution(2))]))
    finally:
        blocker.close()
        await writer.close()
    assert await _ids(engine) == [2]


async def test_a_batch_past_its_timeout_is_not_committed(engine: AsyncEngine) -> None:
    """A batch still running at the timeout fails as unavailable and stores nothing; the next one does."""
    writer = Writer(engine, timeout=1.0, direct_sqlite=True)
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(_connection: Connection) -> None:
        # Holds the writer thread until the caller has timed out.
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result()

    try:
        stuck = asyncio.ensure_future(
            writer.write(Insert(executions, [execution_row(_execution(1))]), Sync(slow))
        )
        with pytest.raises(StorageUnavailable):
            await stuck
        release.set()
        await writer.write(Insert(executions, [execution_row(_execution(2))]))
    finally:
        await writer.close()
    assert await _ids(engine) == [2]


async def test_a_write_given_up_before_commit_is_never_committed(direct: Writer, engine: AsyncEngine) -> None:
    """A write withdrawn while its batch runs on the thread is rolled back; the rest commits."""
    running, release = threading.Event(), threading.Event()

    def slow(_connection: Connection) -> None:
        running.set()
        release.wait()

    given_up = direct.submit(Insert(executions, [execution_row(_execution(1))]), Sync(slow))
    kept = direct.submit(Insert(executions, [execution_row(_execution(2))]))  # the same batch
    await asyncio.to_thread(running.wait)
    given_up.cancel()  # what a caller's timeout does
    release.set()
    await kept
    assert await _ids(engine) == [2]


async def test_close_commits_every_submitted_write(engine: AsyncEngine) -> None:
    """Closing a fast-path writer drains its queue, in batches of max_batch, then refuses writes."""
    writer = Writer(engine, max_batch=7, direct_sqlite=True)
    futures = [writer.submit(Insert(executions, [execution_row(_execution(n))])) for n in range(1, 51)]
    await writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert writer.transactions == 8
    assert await _count(engine) == 50
    with pytest.raises(StorageUnavailable):
        writer.submit(Insert(executions, [execution_row(_execution(51))]))


async def test_an_in_memory_database_cannot_take_the_fast_path() -> None:
    """The fast path opens its own connection, so it refuses a database that lives in memory."""
    engine = create_engine("sqlite:///:memory:")
    try:
        with pytest.raises(ValueError, match="SQLite file"):
            Writer(engine, direct_sqlite=True)
    finally:
        await engine.dispose()


async def test_a_cancelled_caller_does_not_withdraw_its_write(engine: AsyncEngine) -> None:
    """A caller cancelled while its write waits leaves the write in the queue: it is still committed."""
    writer = Writer(engine)
    entered, release = asyncio.Event(), asyncio.Event()

    async def gate(_connection: Any) -> None:
        entered.set()
        await release.wait()

    try:
        blocking = writer.submit(gate)
        await entered.wait()
        waiting = asyncio.ensure_future(writer.write(Insert(executions, [execution_row(_execution(1))])))
        await asyncio.sleep(0)  # let the caller queue its write
        waiting.cancel()
        release.set()
        await blocking
    finally:
        await writer.close()
    assert waiting.cancelled()
    assert await _ids(engine) == [1]


async def test_a_write_that_times_out_in_the_queue_never_runs(engine: AsyncEngine) -> None:
    """A write still queued at its timeout fails as unavailable and is dropped, not run later."""
    # The follow-up write gets the same timeout for a new connection and an fsync'd commit.
    writer = Writer(engine, timeout=1.0, max_batch=1)
    release = asyncio.Event()
    entered = [asyncio.Event(), asyncio.Event()]

    def gate(number: int) -> Any:
        async def action(_connection: Any) -> None:
            entered[number].set()
            await release.wait()

        return action

    try:
        # Two one-write batches hold the writer: the first until its own timeout, the second
        # until the write queued behind them has expired.
        blocking = [writer.submit(gate(0)), writer.submit(gate(1))]
        await asyncio.wait_for(entered[0].wait(), 10)
        with pytest.raises(StorageUnavailable):
            await writer.write(Insert(executions, [execution_row(_execution(1))]))
        await asyncio.wait_for(entered[1].wait(), 10)
        release.set()
        first, second = await asyncio.gather(*blocking, return_exceptions=True)
        assert isinstance(first, StorageUnavailable)
        assert second is None
        await writer.write(Insert(executions, [execution_row(_execution(2))]))
    finally:
        await writer.close()
    assert await _ids(engine) == [2]


async def test_claims_and_finishes_read_the_same_on_both_paths(tmp_path: Path) -> None:
    """A claim run on sqlite3 directly returns the rows SQLAlchemy returns; a finish stores the same."""
    results = []
    for direct in (False, True):
        store = await _store_with_queue(tmp_path / ("direct" if direct else "sqlalchemy"), direct=direct)
        try:
            claimed = await store.claim_executions("worker", limit=2, lease_seconds=30, now=NOW)
            await store.finish_execution(
                claimed[0].id, ExecutionStatus.RESOLVED, finished_at=NOW, output={"a": 1}, response={"b": 2}
            )
            results.append((claimed, await store.get_execution(claimed[0].id)))
        finally:
            await store.close()
    assert results[0] == results[1]
    claimed, finished = results[1]
    assert [e.status for e in claimed] == [ExecutionStatus.STARTED] * 2
    assert finished is not None
    assert finished.response == {"b": 2}
    assert finished.output == {"a": 1}


async def _store_with_queue(folder: Path, *, direct: bool) -> SqlStore:
    """A store over a new file with three queued executions, on the fast path or not."""
    store = await open_store(f"sqlite:///{folder}/hookline.db")
    if not direct:
        await store.writer.close()
        store.writer = Writer(store.engine)
    await store.add_flow(Flow(_workflow(), ()))
    for number in (1, 2, 3):
        queued = _execution(
            number, status=ExecutionStatus.QUEUED, finished_at=None, started_at=None, attempt=0
        )
        await store.add_execution(queued)
    return store


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        # Naive bounds: hypothesis adds the time zones.
        min_value=datetime(2, 1, 1),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, ELSEWHERE, timezone(timedelta(hours=-11))]),
    )
)
def test_timestamps_are_encoded_as_sqlalchemy_encodes_them(value: datetime) -> None:
    """The fast timestamp encoder writes exactly the text of SQLAlchemy's UtcDateTime processor."""
    dialect = create_engine("sqlite://").dialect  # in memory: no file is created
    processor = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    assert _encode_timestamp(value) == processor(value)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=10,
    )
)
def test_json_is_encoded_as_sqlalchemy_encodes_it(value: Any) -> None:
    """The fast JSON encoder gives the JSON column's own SQLAlchemy text for any JSON value."""
    dialect = create_engine("sqlite://").dialect  # in memory: no file is created
    column = executions.c.context
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    encoder = column_encoder(column, dialect)
    assert processor is not None
    assert encoder is not None
    assert encoder(value) == processor(value)


async def _count(engine: AsyncEngine) -> int:
    return len(await _ids(engine))


async def _ids(engine: AsyncEngine) -> list[int]:
    """The ids of the stored executions, in order."""
    async with engine.connect() as connection:
        return list((await connection.execute(select(executions.c.id).order_by(executions.c.id))).scalars())


def test_claimed_rows_become_executions() -> None:
    """A claimed row read as a plain mapping (the fast path's form) makes the same Execution."""
    execution = _execution(1)
    row = {**execution_row(execution), "status": execution.status.value, "run_after": None}
    assert to_execution(row) == execution
