"""SqlStore: the Store protocol over SQLAlchemy Core, for SQLite and PostgreSQL alike.

Writes go through the group-commit writer (one connection, many writes per transaction);
reads go through the engine's pool, and run beside the writer thanks to WAL on SQLite.
An in-memory SQLite database has a single connection, so there reads queue with the writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import RowMapping, Select, Update, exc, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hookline.errors import RejectedRequest, StorageUnavailable
from hookline.models import Execution, ExecutionStatus, Job, JobStatus, Node, Workflow
from hookline.store.base import ExecutionFilter, Flow
from hookline.store.database import create_engine, is_memory, is_sqlite, is_unavailable, unavailable
from hookline.store.migrate import upgrade
from hookline.store.schema import RUNNABLE_STATUSES, UtcDateTime, executions, nodes, workflows
from hookline.store.schema import jobs as jobs_table
from hookline.store.writer import Insert, Writer
from hookline.types import JsonObject, JsonValue

T = TypeVar("T")


async def open_store(
    url: str,
    *,
    migrate: bool = True,
    write_timeout: float = 10.0,
    max_pending_writes: int = 10_000,
) -> SqlStore:
    """Open the database at a user URL, migrate it when asked, and start its writer."""
    try:
        engine = create_engine(url)
    except OSError as error:  # the directory of an SQLite file cannot be created
        raise unavailable(error) from error
    if migrate:
        try:
            await upgrade(engine)  # raises StorageUnavailable itself
        except BaseException:
            await engine.dispose()
            raise
    writer = Writer(engine, max_pending=max_pending_writes, timeout=write_timeout)
    writer.start()
    return SqlStore(engine, writer, timeout=write_timeout)


class SqlStore:
    """The domain operations over one SQL database; see `hookline.store.base.Store`."""

    def __init__(self, engine: AsyncEngine, writer: Writer, *, timeout: float = 10.0) -> None:
        self.engine = engine
        self.writer = writer
        self._timeout = timeout
        self._claims_through_writer = is_sqlite(engine)
        self._reads_through_writer = is_memory(engine)

    async def close(self) -> None:
        """Finish pending writes and release connections."""
        await self.writer.close()
        await self.engine.dispose()

    async def ping(self) -> None:
        """Raise `StorageUnavailable` unless the database answers a trivial query."""
        await self._read(lambda c: c.scalar(select(literal(1))))

    # -- workflows -------------------------------------------------------------------------

    async def add_flow(self, flow: Flow) -> None:
        """Store a new workflow version with its nodes, applying the current/enabled rules."""
        await self.writer.call(lambda c: _insert_flow(c, flow, _utcnow()))

    async def get_live_flow(self, key: str) -> Flow | None:
        """The current, enabled version of a key with its nodes, or None."""
        query = _current(key).where(workflows.c.enabled.is_(True))
        return await self._read(lambda c: _load_flow(c, query))

    async def get_current_flow(self, key: str) -> Flow | None:
        """The current version of a key with its nodes (enabled or not), or None."""
        return await self._read(lambda c: _load_flow(c, _current(key)))

    async def get_flow(self, workflow_id: int) -> Flow | None:
        """One workflow version by id with its nodes, or None."""
        query = select(workflows).where(workflows.c.id == workflow_id)
        return await self._read(lambda c: _load_flow(c, query))

    async def list_workflows(self, *, current_only: bool = True) -> list[Workflow]:
        """Workflow versions ordered by key then id; only the current ones by default."""
        query = select(workflows).order_by(workflows.c.key, workflows.c.id)
        if current_only:
            query = query.where(workflows.c.current.is_(True))
        rows = await self._read(lambda c: _fetch(c, query))
        return [_workflow(row) for row in rows]

    # -- executions and jobs ---------------------------------------------------------------

    async def add_execution(self, execution: Execution, jobs: Sequence[Job] = ()) -> None:
        """Durably insert an execution and its jobs; a taken event key is a 409 `duplicate_event`."""
        try:
            await self.writer.write(
                Insert(executions, [_execution_row(execution)]),
                Insert(jobs_table, [_job_row(job) for job in jobs]),
            )
        except exc.IntegrityError as error:
            if "event_key" in str(error.orig):
                raise RejectedRequest(
                    409, "duplicate_event", "An execution with this event key was already recorded."
                ) from error
            raise

    async def add_job(self, job: Job) -> None:
        """Durably insert one finished job."""
        await self.writer.write(Insert(jobs_table, [_job_row(job)]))

    async def finish_execution(
        self,
        execution_id: int,
        status: ExecutionStatus,
        *,
        finished_at: datetime,
        output: JsonValue = None,
        response: JsonObject | None = None,
        error: str | None = None,
        jobs: Sequence[Job] = (),
    ) -> None:
        """Durably insert the last jobs and set the final status, both in one transaction.

        A `response` of None keeps the one recorded when the execution was accepted.
        """
        values: dict[str, Any] = {
            "status": status.value,
            "finished_at": finished_at,
            "output": output,
            "error": error,
            "claim_expires_at": None,
        }
        if response is not None:
            values["response"] = response
        finish = update(executions).where(executions.c.id == execution_id).values(**values)
        await self.writer.write(Insert(jobs_table, [_job_row(j) for j in jobs]), _run(finish))

    async def claim_executions(
        self, worker_id: str, *, limit: int, lease_seconds: float, now: datetime
    ) -> list[Execution]:
        """Claim up to `limit` runnable executions, oldest first, for this worker."""
        if limit <= 0:
            return []
        statement = _claim(worker_id, limit, now + timedelta(seconds=lease_seconds), now, self._locks_rows)
        if self._claims_through_writer:
            rows = await self.writer.call(lambda c: _fetch(c, statement))
        else:
            rows = await self._pooled(lambda c: _fetch(c, statement))
        return sorted((_execution(row) for row in rows), key=lambda e: e.id)

    async def renew_claims(
        self, worker_id: str, execution_ids: Sequence[int], *, lease_seconds: float, now: datetime
    ) -> None:
        """Push the claim expiry of executions this worker still runs."""
        if not execution_ids:
            return
        renew = (
            update(executions)
            .where(
                executions.c.id.in_(list(execution_ids)),
                executions.c.claimed_by == worker_id,
                executions.c.status == ExecutionStatus.STARTED.value,
            )
            .values(claim_expires_at=now + timedelta(seconds=lease_seconds))
        )
        await self.writer.write(_run(renew))

    async def expire_claims(self, worker_id: str | None = None) -> int:
        """Make `started` executions claimable now (all, or one worker's); returns how many.

        The claim is removed (no holder, no expiry); a `started` execution without a claim
        is runnable.
        """
        expire = (
            update(executions)
            .where(executions.c.status == ExecutionStatus.STARTED.value)
            .values(claimed_by=None, claim_expires_at=None)
        )
        if worker_id is not None:
            expire = expire.where(executions.c.claimed_by == worker_id)
        return int(await self.writer.call(lambda c: _rowcount(c, expire)))

    async def get_execution(self, execution_id: int) -> Execution | None:
        """One execution by id, or None."""
        query = select(executions).where(executions.c.id == execution_id)
        rows = await self._read(lambda c: _fetch(c, query))
        return _execution(rows[0]) if rows else None

    async def get_execution_by_event_key(self, event_key: str) -> Execution | None:
        """The execution recorded for an event key, or None (not in the Store protocol yet)."""
        query = select(executions).where(executions.c.event_key == event_key)
        rows = await self._read(lambda c: _fetch(c, query))
        return _execution(rows[0]) if rows else None

    async def list_jobs(self, execution_id: int) -> list[Job]:
        """The jobs of an execution in the order they were recorded (by id)."""
        query = select(jobs_table).where(jobs_table.c.execution_id == execution_id).order_by(jobs_table.c.id)
        return [_job(row) for row in await self._read(lambda c: _fetch(c, query))]

    async def list_executions(self, query: ExecutionFilter) -> list[Execution]:
        """Executions matching the filter, newest first."""
        statement = select(executions).order_by(executions.c.id.desc()).limit(query.limit)
        if query.workflow_key is not None:
            statement = statement.where(executions.c.key == query.workflow_key)
        if query.status is not None:
            statement = statement.where(executions.c.status == query.status.value)
        if query.before_id is not None:
            statement = statement.where(executions.c.id < query.before_id)
        return [_execution(row) for row in await self._read(lambda c: _fetch(c, statement))]

    # -- plumbing --------------------------------------------------------------------------

    @property
    def _locks_rows(self) -> bool:
        """Whether claims need `FOR UPDATE SKIP LOCKED` (not when one writer is exclusive anyway)."""
        return not self._claims_through_writer

    async def _read(self, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run a read on a pooled connection (or in the writer for an in-memory database)."""
        if self._reads_through_writer:
            return await self.writer.call(read)
        return await self._pooled(read)

    async def _pooled(self, use: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run in one transaction on a pooled connection; "cannot reach" becomes StorageUnavailable."""
        try:
            async with asyncio.timeout(self._timeout), self.engine.begin() as connection:
                return await use(connection)
        except StorageUnavailable:
            raise
        except Exception as error:
            if is_unavailable(error):
                raise unavailable(error) from error
            raise


# -- statements ------------------------------------------------------------------------------


def _current(key: str) -> Select[Any]:
    """The current version of a key."""
    return select(workflows).where(workflows.c.key == key, workflows.c.current.is_(True))


def _claim(worker_id: str, limit: int, expires_at: datetime, now: datetime, lock: bool) -> Update:
    """UPDATE … WHERE id IN (the oldest runnable ids [FOR UPDATE SKIP LOCKED]) RETURNING *."""
    c = executions.c
    runnable = (
        select(c.id)
        # The IN list repeats the partial index's condition so both databases can use that index.
        .where(
            c.status.in_(RUNNABLE_STATUSES),
            or_(
                c.status == ExecutionStatus.QUEUED.value,
                c.claim_expires_at.is_(None),
                c.claim_expires_at <= now,
            ),
        )
        .order_by(c.id)
        .limit(limit)
    )
    if lock:
        runnable = runnable.with_for_update(skip_locked=True)
    return (
        update(executions)
        .where(c.id.in_(runnable.scalar_subquery()))
        .values(
            status=ExecutionStatus.STARTED.value,
            claimed_by=worker_id,
            claim_expires_at=expires_at,
            attempt=c.attempt + 1,
            started_at=_coalesce_time(c.started_at, now),
        )
        .returning(*executions.c)
    )


def _coalesce_time(column: Any, value: datetime) -> Any:
    """COALESCE(column, value) with the value bound as a UTC timestamp."""
    return func.coalesce(column, literal(value, UtcDateTime()), type_=UtcDateTime())


async def _fetch(connection: AsyncConnection, statement: Any) -> Sequence[RowMapping]:
    """All rows of a statement as mappings."""
    return (await connection.execute(statement)).mappings().all()


async def _rowcount(connection: AsyncConnection, statement: Any) -> int:
    """How many rows an UPDATE touched."""
    return int((await connection.execute(statement)).rowcount)


def _run(statement: Any) -> Callable[[AsyncConnection], Awaitable[None]]:
    """A writer action that executes one statement."""

    async def action(connection: AsyncConnection) -> None:
        await connection.execute(statement)

    return action


async def _insert_flow(connection: AsyncConnection, flow: Flow, now: datetime) -> None:
    """Insert a version; enabled it takes over its key, otherwise it is current only if none is."""
    workflow = flow.workflow
    if workflow.enabled:
        await connection.execute(
            update(workflows)
            .where(
                workflows.c.key == workflow.key,
                or_(workflows.c.enabled.is_(True), workflows.c.current.is_not(None)),
            )
            .values(enabled=False, current=None, updated_at=now)
        )
        current = True
    else:
        holder = await connection.scalar(_current(workflow.key).with_only_columns(workflows.c.id).limit(1))
        current = holder is None
    await connection.execute(workflows.insert(), [_workflow_row(workflow, current=current, now=now)])
    if flow.nodes:
        await connection.execute(nodes.insert(), [_node_row(node) for node in flow.nodes])


async def _load_flow(connection: AsyncConnection, query: Select[Any]) -> Flow | None:
    """The first workflow a query finds, with its nodes in id order."""
    row = (await connection.execute(query.limit(1))).mappings().first()
    if row is None:
        return None
    node_query = select(nodes).where(nodes.c.workflow_id == row["id"]).order_by(nodes.c.id)
    node_rows = await _fetch(connection, node_query)
    return Flow(_workflow(row), tuple(_node(n) for n in node_rows))


# -- rows <-> records ------------------------------------------------------------------------


def _utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def _workflow_row(workflow: Workflow, *, current: bool, now: datetime) -> dict[str, Any]:
    """A workflows row; `current` is TRUE or NULL so the unique index allows one per key."""
    return {
        "id": workflow.id,
        "key": workflow.key,
        "title": workflow.title,
        "description": workflow.description,
        "type": workflow.type,
        "sync": workflow.sync,
        "enabled": workflow.enabled,
        "current": True if current else None,
        "config": workflow.config,
        "options": workflow.options,
        "created_at": workflow.created_at or now,
        "updated_at": workflow.updated_at or now,
    }


def _workflow(row: RowMapping) -> Workflow:
    """A Workflow from its row."""
    return Workflow(
        id=row["id"],
        key=row["key"],
        title=row["title"],
        type=row["type"],
        sync=row["sync"],
        enabled=row["enabled"],
        current=bool(row["current"]),
        description=row["description"],
        config=row["config"],
        options=row["options"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _node_row(node: Node) -> dict[str, Any]:
    """A nodes row."""
    return {
        "id": node.id,
        "workflow_id": node.workflow_id,
        "key": node.key,
        "type": node.type,
        "title": node.title,
        "config": node.config,
        "upstream_id": node.upstream_id,
        "downstream_id": node.downstream_id,
        "branch_index": node.branch_index,
    }


def _node(row: RowMapping) -> Node:
    """A Node from its row."""
    return Node(
        id=row["id"],
        workflow_id=row["workflow_id"],
        key=row["key"],
        type=row["type"],
        config=row["config"],
        title=row["title"],
        upstream_id=row["upstream_id"],
        downstream_id=row["downstream_id"],
        branch_index=row["branch_index"],
    )


def _execution_row(execution: Execution) -> dict[str, Any]:
    """An executions row, not claimed by anyone."""
    return {
        "id": execution.id,
        "workflow_id": execution.workflow_id,
        "key": execution.key,
        "event_key": execution.event_key,
        "context": execution.context,
        "status": execution.status.value,
        "output": execution.output,
        "response": execution.response,
        "error": execution.error,
        "attempt": execution.attempt,
        "claimed_by": None,
        "claim_expires_at": None,
        "created_at": execution.created_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
    }


def _execution(row: RowMapping) -> Execution:
    """An Execution from its row."""
    return Execution(
        id=row["id"],
        workflow_id=row["workflow_id"],
        key=row["key"],
        event_key=row["event_key"],
        context=row["context"],
        status=ExecutionStatus(row["status"]),
        created_at=row["created_at"],
        output=row["output"],
        response=row["response"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempt=row["attempt"],
        error=row["error"],
    )


def _job_row(job: Job) -> dict[str, Any]:
    """A jobs row."""
    return {
        "id": job.id,
        "execution_id": job.execution_id,
        "node_id": job.node_id,
        "node_key": job.node_key,
        "status": job.status.value,
        "result": job.result,
        "meta": job.meta,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _job(row: RowMapping) -> Job:
    """A Job from its row."""
    return Job(
        id=row["id"],
        execution_id=row["execution_id"],
        node_id=row["node_id"],
        node_key=row["node_key"],
        status=JobStatus(row["status"]),
        result=row["result"],
        meta=row["meta"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )
