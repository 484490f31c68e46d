"""The writer's PostgreSQL fast path: the values SQLAlchemy stores, locks, notifications, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text

from hookline.errors import RejectedRequest, StorageUnavailable
from hookline.ids import new_id
from hookline.models import Execution, ExecutionStatus, Job, JobStatus
from hookline.store._pg_writer import APPLICATION_NAME
from hookline.store._rows import execution_row
from hookline.store.notify import EXECUTIONS_CHANNEL, listen_dsn
from hookline.store.schema import executions
from hookline.store.sql_store import SqlStore, open_store
from hookline.store.write_steps import Insert, Lock, Notify
from hookline.store.writer import Writer
from tests._factories import NOW, make_execution, make_flow, make_job

pytestmark = pytest.mark.postgres

WITHIN = 5.0
"""How long a test waits for something that should happen at once."""

ODD_TEXT = 'héllo ✓ 🚀 עברית "quoted" \\ back\nslash\ttab \u2028 \U0010ffff'
"""Unicode without NUL (which PostgreSQL text and jsonb refuse), with characters JSON escapes."""

EXECUTION_COLUMNS = [c.name for c in executions.columns if c.name not in ("id", "event_key")]
JOB_COLUMNS = ["node_id", "node_key", "status", "result", "meta", "started_at", "finished_at"]


@pytest.fixture
async def fast(postgres_session_url: str) -> AsyncIterator[SqlStore]:
    """A migrated, emptied store whose writer takes the PostgreSQL fast path."""
    opened = await open_store(postgres_session_url)
    async with opened.engine.begin() as connection:
        await connection.exec_driver_sql("TRUNCATE workflows, nodes, executions, jobs, dedupe_keys CASCADE")
    yield opened
    await opened.close()


@pytest.fixture
async def plain(fast: SqlStore) -> AsyncIterator[SqlStore]:
    """A store on the same engine whose writer runs everything through SQLAlchemy."""
    store = SqlStore(fast.engine, Writer(fast.engine))
    yield store
    await store.writer.close()


@pytest.fixture
async def session(postgres_session_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A bare connection of the test's own on the session's database."""
    connection = await asyncpg.connect(listen_dsn(postgres_session_url))
    yield connection
    await connection.close()


@pytest.fixture
async def holder(postgres_session_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A second bare connection, which holds locks or rows the writer must wait for."""
    connection = await asyncpg.connect(listen_dsn(postgres_session_url))
    yield connection
    await connection.close()


def variants(workflow_id: int, key: str) -> list[tuple[Execution, list[Job]]]:
    """Executions and jobs whose values are awkward to store: unicode, nesting, None, offsets, big ids."""
    nested = {
        "a": [1, 2.5, -3, 1e20, 2**62, True, False, None, "", {"b": {"c": [[], {}]}}],
        ODD_TEXT: ODD_TEXT,
    }
    india = timezone(timedelta(hours=5, minutes=30))
    base = Execution(
        id=0,
        workflow_id=workflow_id,
        key=key,
        event_key="",
        context={"headers": {"x": ODD_TEXT}, "query": {}, "body": nested},
        status=ExecutionStatus.QUEUED,
        created_at=datetime(2026, 3, 1, 17, 30, 0, 123456, tzinfo=india),
    )
    cases = [
        base,
        replace(base, output=None, response=None, error=None, context={}),
        replace(
            base,
            status=ExecutionStatus.RESOLVED,
            output="a string",
            response={"statusCode": 202, "body": None},
            error=ODD_TEXT,
            attempt=3,
            started_at=NOW,
            finished_at=datetime(2026, 3, 1, 12, 0, 1, 999999, tzinfo=timezone(timedelta(hours=-8))),
        ),
        replace(base, output=0, response={"nested": nested}),
        replace(base, output=[None, {"x": None}], context={"k": None}),
        replace(base, output=1.0, response={}),
    ]
    made: list[tuple[Execution, list[Job]]] = []
    for execution in cases:
        jobs = [
            make_job(execution, result=None, meta={}, started_at=None, finished_at=None),
            make_job(execution, result=nested, meta={"why": ODD_TEXT}, status=JobStatus.ERROR),
            make_job(execution, result="x", started_at=execution.created_at),
        ]
        made.append((execution, jobs))
    return made


def with_ids(
    execution: Execution, jobs: list[Job], execution_id: int, tag: str
) -> tuple[Execution, list[Job]]:
    """The same execution and jobs under a new execution id and event key."""
    stored = replace(execution, id=execution_id, event_key=f"{tag}-{execution_id}")
    return stored, [replace(job, id=new_id(), execution_id=execution_id) for job in jobs]


async def raw(store: SqlStore, execution_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every column as PostgreSQL holds it (SQL NULL or its text form) for an execution and its jobs."""
    columns = ", ".join(f"{c} IS NULL AS {c}_null, {c}::text AS {c}_text" for c in EXECUTION_COLUMNS)
    job_columns = ", ".join(f"{c} IS NULL AS {c}_null, {c}::text AS {c}_text" for c in JOB_COLUMNS)
    async with store.engine.connect() as connection:
        row = (
            await connection.execute(text(f"SELECT {columns} FROM executions WHERE id = {execution_id}"))  # noqa: S608
        ).one()
        jobs = await connection.execute(
            text(f"SELECT {job_columns} FROM jobs WHERE execution_id = {execution_id} ORDER BY id")  # noqa: S608
        )
        return dict(row._mapping), [dict(job._mapping) for job in jobs]


def writes_through_sqlalchemy(store: SqlStore) -> list[str]:
    """The statements the store's engine sends from now on (the fast path sends none)."""
    seen: list[str] = []

    @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "SELECT PG_NOTIFY")):
            seen.append(statement)

    return seen


async def test_the_fast_path_stores_what_sqlalchemy_stores(fast: SqlStore, plain: SqlStore) -> None:
    """Executions and jobs written by the fast path read back, and are held, exactly as SQLAlchemy's."""
    flow = make_flow()
    await fast.add_flow(flow)
    cases = variants(flow.workflow.id, flow.workflow.key)
    big = 2**63 - 1000
    through_fast = [with_ids(e, j, big - 2 * n, "fast") for n, (e, j) in enumerate(cases)]
    through_plain = [with_ids(e, j, big - 2 * n - 1, "plain") for n, (e, j) in enumerate(cases)]
    seen = writes_through_sqlalchemy(fast)
    before = fast.writer.transactions
    await asyncio.gather(*(fast.add_execution(e, j) for e, j in through_fast))
    assert seen == []  # none of it went through SQLAlchemy
    assert fast.writer.transactions - before < len(cases)  # some shared a batch (and a statement)
    await asyncio.gather(*(plain.add_execution(e, j) for e, j in through_plain))
    assert seen != []
    for (mine, my_jobs), (theirs, _) in zip(through_fast, through_plain, strict=True):
        read_mine, read_theirs = await fast.get_execution(mine.id), await fast.get_execution(theirs.id)
        assert read_mine is not None
        assert read_theirs is not None
        assert replace(read_mine, id=0, event_key="") == replace(read_theirs, id=0, event_key="")
        assert read_mine.created_at == mine.created_at
        assert read_mine.created_at.tzinfo == UTC
        assert (read_mine.context, read_mine.output) == (mine.context, mine.output)
        jobs_mine, jobs_theirs = await fast.list_jobs(mine.id), await fast.list_jobs(theirs.id)
        assert [replace(j, id=0, execution_id=0) for j in jobs_mine] == [
            replace(j, id=0, execution_id=0) for j in jobs_theirs
        ]
        assert [j.result for j in jobs_mine] == [j.result for j in my_jobs]
        assert await raw(fast, mine.id) == await raw(fast, theirs.id)


FINISHES: list[dict[str, Any]] = [
    {"status": ExecutionStatus.RESOLVED, "output": {"nested": [ODD_TEXT, None, 2**62]}},
    {"status": ExecutionStatus.FAILED, "output": None, "error": ODD_TEXT},
    {"status": ExecutionStatus.RESOLVED, "output": "x", "response": {"statusCode": 201, "body": None}},
    {"status": ExecutionStatus.ERROR, "output": 1.5, "error": "boom", "response": {}},
]
"""Finishes with awkward values, with and without a response (two shapes of the UPDATE)."""


async def finish_each(store: SqlStore, started: list[Execution], canceled: Execution) -> None:
    """Finish every started execution with its FINISHES entry, and the canceled one, all at once."""
    finished_at = datetime(2026, 3, 1, 9, 0, 0, 654321, tzinfo=timezone(timedelta(hours=2)))
    await asyncio.gather(
        *(
            store.finish_execution(
                e.id, finished_at=finished_at, jobs=[make_job(e, result=ODD_TEXT)], **values
            )
            for e, values in zip(started, FINISHES, strict=True)
        ),
        store.finish_execution(canceled.id, ExecutionStatus.RESOLVED, finished_at=finished_at),
    )


async def test_finishes_on_the_fast_path_store_what_sqlalchemy_stores(
    fast: SqlStore, plain: SqlStore
) -> None:
    """Statuses, outputs, errors and responses set by one UPDATE match SQLAlchemy's; a canceled one stays."""
    flow = make_flow()
    await fast.add_flow(flow)
    started_at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    kept = {"statusCode": 202, "body": {"kept": True}}
    runs = {
        name: [
            make_execution(flow, status=ExecutionStatus.STARTED, started_at=started_at, response=kept)
            for _ in FINISHES
        ]
        for name in ("fast", "plain")
    }
    canceled = {name: make_execution(flow, status=ExecutionStatus.CANCELED) for name in ("fast", "plain")}
    for name in ("fast", "plain"):
        await asyncio.gather(*(fast.add_execution(e) for e in [*runs[name], canceled[name]]))
    seen = writes_through_sqlalchemy(fast)
    before = fast.writer.transactions
    await finish_each(fast, runs["fast"], canceled["fast"])
    assert seen == []  # none of it went through SQLAlchemy
    assert fast.writer.transactions - before < len(FINISHES) + 1  # some shared a batch (and a statement)
    await finish_each(plain, runs["plain"], canceled["plain"])
    assert seen != []
    pairs = [*zip(runs["fast"], runs["plain"], strict=True), (canceled["fast"], canceled["plain"])]
    for mine, theirs in pairs:
        read_mine, read_theirs = await fast.get_execution(mine.id), await fast.get_execution(theirs.id)
        assert read_mine is not None
        assert read_theirs is not None
        assert replace(read_mine, id=0, event_key="") == replace(read_theirs, id=0, event_key="")
        assert await raw(fast, mine.id) == await raw(fast, theirs.id)
    finished = [await fast.get_execution(e.id) for e in runs["fast"]]
    assert [(e.status, e.output, e.error) for e in finished if e] == [
        (f["status"], f["output"], f.get("error")) for f in FINISHES
    ]
    assert [e.response for e in finished if e] == [f.get("response", kept) for f in FINISHES]
    assert all(e.finished_at is not None for e in finished if e)
    still = await fast.get_execution(canceled["fast"].id)
    assert still is not None
    assert (still.status, still.finished_at) == (ExecutionStatus.CANCELED, None)


async def test_a_duplicate_event_key_fails_alone_on_the_fast_path(fast: SqlStore) -> None:
    """A taken event key in a shared batch is a 409 for its write; the others of the batch are stored."""
    flow = make_flow()
    await fast.add_flow(flow)
    first = make_execution(flow)
    await fast.add_execution(first)
    others = [make_execution(flow) for _ in range(5)]
    duplicate = make_execution(flow, event_key=first.event_key)
    outcomes = await asyncio.gather(
        *(fast.add_execution(e, [make_job(e)]) for e in [*others[:2], duplicate, *others[2:]]),
        return_exceptions=True,
    )
    assert [type(o) for o in outcomes] == [type(None)] * 2 + [RejectedRequest] + [type(None)] * 3
    assert isinstance(outcomes[2], RejectedRequest)
    assert outcomes[2].status == 409
    for execution in others:
        assert await fast.get_execution(execution.id) is not None
        assert len(await fast.list_jobs(execution.id)) == 1
    assert await fast.get_execution(duplicate.id) is None


async def waiting_for_a_lock(session: asyncpg.Connection, kind: str = "advisory") -> bool:
    """Whether the writer's connection waits for a lock of this kind (advisory, relation…)."""
    query = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = $2 AND NOT l.granted AND a.application_name = $1"
    )
    return bool(await session.fetchval(query, APPLICATION_NAME, kind))


async def poll(check: Callable[[], Awaitable[bool]]) -> None:
    """Return once `check()` is true; fail after WITHIN seconds."""
    async with asyncio.timeout(WITHIN):
        # The lock wait happens on the server: there is no event to await.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def row(flow_id: int, key: str) -> dict[str, Any]:
    """An executions row of a queued execution."""
    return execution_row(make_execution(make_flow(key), workflow_id=flow_id))


async def test_the_fast_path_takes_its_locks_before_inserting_and_notifies(
    fast: SqlStore, session: asyncpg.Connection, holder: asyncpg.Connection
) -> None:
    """An insert under a lock held elsewhere waits for it, then commits and notifies the listeners."""
    flow = make_flow()
    await fast.add_flow(flow)
    heard = asyncio.Event()
    await session.add_listener(EXECUTIONS_CHANNEL, lambda *_: heard.set())
    held = holder.transaction()
    await held.start()
    await holder.execute("SELECT pg_advisory_xact_lock(7, 11)")
    inserted = row(flow.workflow.id, flow.workflow.key)
    write = asyncio.create_task(
        fast.writer.write(Lock(7, 11), Lock(3, 5), Insert(executions, [inserted]), Notify(EXECUTIONS_CHANNEL))
    )
    await poll(lambda: waiting_for_a_lock(session))
    assert await fast.get_execution(inserted["id"]) is None
    assert not heard.is_set()
    await held.commit()
    async with asyncio.timeout(WITHIN):
        assert await write is None
        await heard.wait()
    assert await fast.get_execution(inserted["id"]) is not None


async def test_a_write_timed_out_on_the_fast_path_is_never_stored(
    fast: SqlStore, holder: asyncpg.Connection
) -> None:
    """A write stuck behind a lock fails as unavailable, is not committed later, and the next one works."""
    flow = make_flow()
    await fast.add_flow(flow)
    # The write after it gets the same timeout for a new connection, a prepare and the lock.
    writer = Writer(fast.engine, timeout=2.0, direct_postgres=True)
    try:
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT pg_advisory_xact_lock(8, 1)")
        stuck = row(flow.workflow.id, flow.workflow.key)
        with pytest.raises(StorageUnavailable):
            await writer.write(Lock(8, 1), Insert(executions, [stuck]))
        await held.commit()
        after = row(flow.workflow.id, flow.workflow.key)
        await writer.write(Lock(8, 1), Insert(executions, [after]))
        assert await fast.get_execution(after["id"]) is not None
        assert await fast.get_execution(stuck["id"]) is None
    finally:
        await writer.close()


async def test_a_write_behind_a_stalled_batch_hears_about_its_own_timeout_not_twice_it(
    fast: SqlStore, session: asyncpg.Connection, holder: asyncpg.Connection
) -> None:
    """A write that waited a whole timeout behind a stalled statement hears soon after, not a timeout later.

    The fast path's lone statement commits as it runs, so its writes wait for its outcome; the
    batch that takes the late write is bounded by that write's deadline (at least FLOOR), not by
    a fresh full timeout. Both writes stall on rows another transaction inserted and holds.
    """
    flow = make_flow()
    await fast.add_flow(flow)
    timeout = 4.0
    writer = Writer(fast.engine, timeout=timeout, direct_postgres=True)
    await writer.write(Insert(executions, [row(flow.workflow.id, "warm")]))  # its statement is prepared
    first, late = row(flow.workflow.id, "a"), row(flow.workflow.id, "b")
    held = holder.transaction()
    try:
        await held.start()
        for taken in (first, late):  # the same ids, not committed: the writer's inserts wait for them
            await holder.execute(
                "INSERT INTO executions (id, workflow_id, key, event_key, context, status, created_at) "
                "VALUES ($1, $2, 'held', $3, '{}', 'queued', now())",
                taken["id"],
                flow.workflow.id,
                f"held-{taken['id']}",
            )
        stalled = asyncio.create_task(writer.write(Insert(executions, [first])))
        await poll(lambda: waiting_for_a_lock(session, "transactionid"))
        # The late write arrives a second into the stall (the scenario, not a wait for anything),
        # so the next batch, on a new connection, has sent it well before its timeout passes.
        await asyncio.sleep(1.0)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        with pytest.raises(StorageUnavailable):
            await writer.write(Insert(executions, [late]))
        waited = loop.time() - sent
        with pytest.raises(StorageUnavailable):
            await stalled
        # With a full timeout again it would be 3 s more; 1.5 s of slack is for a loaded machine.
        assert timeout - 0.5 < waited < timeout + 1.5
    finally:
        await held.commit()  # the stalled inserts, if their sessions still wait, now fail as duplicates
        await writer.close()


async def test_the_fast_path_reconnects_after_its_connection_is_killed(
    fast: SqlStore, session: asyncpg.Connection
) -> None:
    """Once the server ends the writer's connection, a later write opens a new one and is stored."""
    flow = make_flow()
    await fast.add_flow(flow)
    await fast.add_execution(make_execution(flow))
    database = await session.fetchval("SELECT current_database()")
    ended = await session.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = $1 AND datname = $2",
        APPLICATION_NAME,
        database,
    )
    assert ended == 1
    lost = make_execution(flow)
    try:
        await fast.add_execution(lost)  # stored on a new connection, or refused when sent on the dead one
    except StorageUnavailable:
        assert await fast.get_execution(lost.id) is None
    after = make_execution(flow)
    await fast.add_execution(after)
    assert await fast.get_execution(after.id) is not None
