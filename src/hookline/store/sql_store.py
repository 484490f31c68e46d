"""SqlStore: the Store protocol over SQLAlchemy Core, for SQLite and PostgreSQL alike.

Writes go through the group-commit writer (one connection, many writes per transaction);
reads go through the engine's pool, and run beside the writer thanks to WAL on SQLite.
An in-memory SQLite database has a single connection, so there reads queue with the writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, Unpack

import asyncpg
from sqlalchemy import exc, func, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hookline.errors import RejectedRequest, StorageUnavailable
from hookline.models import (
    Claim,
    DedupeHolder,
    DedupeKey,
    Execution,
    ExecutionStatus,
    Flow,
    Job,
    JobStatus,
    Limits,
    Node,
    Workflow,
)
from hookline.store import _captures as captures
from hookline.store import _dedupe as dedupes
from hookline.store import _files as stored_files
from hookline.store import _queue as queue
from hookline.store import _rate_counts as rate_counts
from hookline.store import _statements as sql
from hookline.store._rows import execution_row, job_row, node_row, to_execution, to_job, to_workflow
from hookline.store.capture_store import Capture
from hookline.store.database import create_engine, is_memory, is_sqlite, is_unavailable, unavailable
from hookline.store.execution_history import ExecutionFilter, RetentionRule
from hookline.store.execution_queue import ExecutionEnd
from hookline.store.file_store import StoredFile
from hookline.store.migrate import upgrade
from hookline.store.notify import EXECUTIONS_CHANNEL, WORKFLOWS_CHANNEL
from hookline.store.rate_count_store import RateWindow
from hookline.store.schema import executions, workflows
from hookline.store.schema import jobs as jobs_table
from hookline.store.schema import nodes as nodes_table
from hookline.store.workflow_store import WorkflowFilter
from hookline.store.write_steps import Insert, Lock, Notify, Step, Sync, Update
from hookline.store.writer import Writer
from hookline.types import JsonObject

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
    # An SQLite file takes the writer's fast path; an in-memory one has one connection to share.
    # PostgreSQL takes its own fast path (inserts, locks and notifications on a bare connection).
    direct = is_sqlite(engine) and not is_memory(engine)
    writer = Writer(
        engine,
        max_pending=max_pending_writes,
        timeout=write_timeout,
        direct_sqlite=direct,
        direct_postgres=not is_sqlite(engine),
    )
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
        # Other processes learn of new work by LISTEN/NOTIFY; SQLite has one process, woken in-process.
        self._notifies = not is_sqlite(engine)

    async def close(self) -> None:
        """Finish pending writes and release connections."""
        await self.writer.close()
        await self.engine.dispose()

    async def ping(self) -> None:
        """Raise `StorageUnavailable` unless the database answers a trivial query."""
        await self._read(lambda c: c.scalar(select(literal(1))))

    # -- workflows (`WorkflowStore`) -------------------------------------------------------

    async def add_flow(self, flow: Flow) -> None:
        """Store a new workflow version with its nodes, applying the current/enabled rules."""
        await self.writer.run(lambda c: sql.insert_flow(c, flow, _utcnow()))

    async def get_live_flow(self, key: str) -> Flow | None:
        """The current, enabled version of a key with its nodes and its `capture_until`, or None."""
        query = sql.current_version(key).where(workflows.c.enabled.is_(True))
        now = _utcnow()
        return await self._read(lambda c: captures.with_capture(c, sql.load_flow(c, query), now))

    async def get_current_flow(self, key: str) -> Flow | None:
        """The current version of a key with its nodes (enabled or not), or None."""
        return await self._read(lambda c: sql.load_flow(c, sql.current_version(key)))

    async def get_flow(self, workflow_id: int) -> Flow | None:
        """One workflow version by id with its nodes, or None."""
        query = select(workflows).where(workflows.c.id == workflow_id)
        return await self._read(lambda c: sql.load_flow(c, query))

    async def list_workflows(self, *, current_only: bool = True) -> list[Workflow]:
        """Workflow versions ordered by key then id; only the current ones by default."""
        query = select(workflows).order_by(workflows.c.key, workflows.c.id)
        if current_only:
            query = query.where(workflows.c.current.is_(True))
        return await self._workflows(query)

    async def find_workflows(self, query: WorkflowFilter) -> list[Workflow]:
        """Current versions matching the filter (text: key, title or description, any case), by key."""
        return await self._workflows(sql.find_workflows(query))

    async def list_versions(self, key: str) -> list[Workflow]:
        """Every version of a key, oldest first."""
        return await self._workflows(select(workflows).where(workflows.c.key == key).order_by(workflows.c.id))

    async def update_workflow(self, workflow: Workflow) -> None:
        """Store a version's title, description, config, options and updated_at (by id)."""
        change = (
            update(workflows)
            .where(workflows.c.id == workflow.id)
            .values(
                title=workflow.title,
                description=workflow.description,
                config=workflow.config,
                options=workflow.options,
                updated_at=workflow.updated_at or _utcnow(),
            )
        )
        await self.writer.write(Sync(sql.run(change)))

    async def replace_nodes(self, workflow_id: int, nodes: Sequence[Node]) -> None:
        """Replace every node of a version with these, in one transaction."""
        foreign = [n.id for n in nodes if n.workflow_id != workflow_id]
        if foreign:  # a caller bug: these would silently join another version
            raise ValueError(f"nodes {foreign} belong to another workflow version than {workflow_id}")
        clear = nodes_table.delete().where(nodes_table.c.workflow_id == workflow_id)
        await self.writer.write(Sync(sql.run(clear)), Insert(nodes_table, [node_row(n) for n in nodes]))

    async def set_enabled(self, workflow_id: int, enabled: bool, *, now: datetime) -> None:
        """Enable a version (it takes over its key) or disable it (it stays current)."""
        await self.writer.run(lambda c: sql.set_enabled(c, workflow_id, enabled, now))

    async def count_executions(self, workflow_id: int) -> int:
        """How many executions a version has (a version with any is frozen)."""
        query = select(func.count()).select_from(executions).where(executions.c.workflow_id == workflow_id)
        count: int | None = await self._read(lambda c: c.scalar(query))
        return count or 0

    async def delete_workflow(self, key: str, *, batch: int = 500) -> int:
        """Delete every version of a key with its nodes, executions and jobs; how many executions.

        Executions go `batch` at a time, each batch its own write, so webhook writes keep
        flowing in between. The last write deletes whatever arrived meanwhile with the versions.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        conditions = sql.of_key(key)
        deleted = 0
        while True:
            count = await self.writer.run(
                lambda c: sql.delete_executions(c, conditions, limit=batch, lock=False)
            )
            deleted += count
            if count < batch:
                break
        return deleted + await self.writer.run(lambda c: sql.delete_versions(c, key, lock=self._locks_rows))

    async def announce_workflow_change(self, key: str) -> None:
        """Tell the other processes that a workflow key changed (PostgreSQL; nothing on SQLite)."""
        if self._notifies:
            await self.writer.run(lambda c: sql.notify(c, WORKFLOWS_CHANNEL, key))

    # -- the execution queue (`ExecutionQueue`) --------------------------------------------

    async def add_execution(
        self, execution: Execution, jobs: Sequence[Job] = (), *, dedupe: DedupeKey | None = None
    ) -> None:
        """Durably insert an execution and its jobs; a taken event key is a 409 `duplicate_event`.

        On PostgreSQL a queued execution also notifies the listeners, in the same transaction.
        With `dedupe`, the execution's answer is stored under the key it claimed, still in it.
        """
        steps: list[Step] = [
            Insert(executions, [execution_row(execution)]),
            Insert(jobs_table, [job_row(job) for job in jobs]),
        ]
        if dedupe is not None:
            steps += [
                dedupes.lock(dedupe.key),
                Sync(dedupes.answer(dedupe, execution.id, execution.response)),
            ]
        if execution.status is ExecutionStatus.QUEUED and self._notifies:
            steps.append(Notify(EXECUTIONS_CHANNEL))
        try:
            await self.writer.write(*steps)
        except exc.IntegrityError as error:
            _raise_if_duplicate(error)
            raise

    async def add_limited_execution(
        self, execution: Execution, limits: Limits, *, claim: Claim | None = None
    ) -> bool:
        """Durably insert a queued execution with its limits; False, storing nothing, when its queue is full.

        With a queue limit the count and the insert run in the writer's transaction, under the
        key's advisory lock on PostgreSQL (taken before anything else of the batch). With a
        `claim` the execution is inserted `started` under it, and nobody else is told of it.
        """
        row = execution_row(execution, limits, claim)
        steps: list[Step] = []
        if limits.queue_limit is None:
            steps.append(Insert(executions, [row]))
        else:
            steps.append(Lock(queue.QUEUE_LOCKS, queue.lock_key(execution.key)))
            steps.append(Sync(lambda c: queue.insert_bounded(c, row)))
        if self._notifies and claim is None:
            steps.append(Notify(EXECUTIONS_CHANNEL))  # a refused one wakes the listeners for nothing
        try:
            stored = await self.writer.write(*steps)
        except exc.IntegrityError as error:
            _raise_if_duplicate(error)
            raise
        return limits.queue_limit is None or bool(stored)

    async def count_queued(self) -> dict[str, int]:
        """How many executions of each key are queued (recorded with a queue limit); a pooled read."""
        return await self._read(queue.count_queued)

    async def add_jobs(self, jobs: Sequence[Job]) -> None:
        """Durably insert finished jobs, in this order, in one transaction."""
        await self.writer.write(Insert(jobs_table, [job_row(job) for job in jobs]))

    async def update_job(self, job: Job) -> None:
        """Durably replace the pending job with this id (a node called again after a wait)."""
        await self.writer.write(_job_update(job))

    async def suspend_execution(
        self, execution_id: int, worker_id: str, *, run_after: datetime, job: Job, job_exists: bool
    ) -> bool:
        """Record a node's pending job and make the execution `waiting` until `run_after`, together.

        The claim goes (any process resumes it once due); resuming it is not a new attempt.
        False when it was no longer `started` under this worker's claim (canceled meanwhile);
        the pending job is recorded all the same.
        """
        write = _job_update(job) if job_exists else Insert(jobs_table, [job_row(job)])
        suspend = sql.suspend(execution_id, worker_id, run_after)
        suspended: int = await self.writer.write(write, Sync(lambda c: sql.rowcount(c, suspend)))
        return suspended == 1

    async def wake_execution(self, execution_id: int, *, now: datetime) -> bool:
        """Make a `waiting` execution due at once; False when it was not waiting."""
        wake = sql.wake(execution_id, now)
        return await self.writer.run(lambda c: self._count_and_notify(c, wake)) == 1

    async def finish_execution(
        self, execution_id: int, status: ExecutionStatus, **end: Unpack[ExecutionEnd]
    ) -> None:
        """Durably insert the last jobs and set the final status (and `end`), both in one transaction.

        Only a `started` execution is finished: one canceled meanwhile keeps its status (its
        last jobs are still recorded).
        """
        values: dict[str, Any] = {
            "status": status.value,
            "finished_at": end["finished_at"],
            "output": end.get("output"),
            "error": end.get("error"),
            "claim_expires_at": None,
        }
        if (response := end.get("response")) is not None:
            values["response"] = response
        started = ("status", ExecutionStatus.STARTED.value)
        await self.writer.write(
            Insert(jobs_table, [job_row(j) for j in end.get("jobs", ())]),
            *(_job_update(j) for j in end.get("updated_jobs", ())),
            Update(executions, execution_id, started, values),
        )

    async def claim_executions(
        self, worker_id: str, *, limit: int, lease_seconds: float, now: datetime
    ) -> list[Execution]:
        """Claim up to `limit` runnable executions, oldest first, for this worker."""
        if limit <= 0:
            return []
        expires_at = now + timedelta(seconds=lease_seconds)

        def claim(connection: Connection) -> list[Any]:
            return queue.claim(connection, worker_id, limit, expires_at, now, lock=self._locks_rows)

        if self._claims_through_writer:
            rows = await self.writer.run(claim)
        else:
            rows = await self._pooled(claim)
        return sorted((to_execution(row) for row in rows), key=lambda e: e.id)

    async def resume_jobs(self, execution_id: int) -> list[Job]:
        """The jobs of an execution a worker resumes, in the order they were recorded.

        On SQLite they are read on the writer's own connection with a prepared statement: for eight
        jobs a sixth of the CPU of a pooled read (another thread hop, SQLAlchemy's execution).
        """
        if not self._claims_through_writer:
            return await self.list_jobs(execution_id)
        return [to_job(row) for row in await self.writer.run(lambda c: queue.jobs_of(c, execution_id))]

    async def renew_claims(
        self, worker_id: str, execution_ids: Sequence[int], *, lease_seconds: float, now: datetime
    ) -> set[int]:
        """Push the claim expiry of executions this worker still runs; the ids it renewed.

        An id missing from the answer is no longer `started` under this worker's claim.
        """
        if not execution_ids:
            return set()
        renew = sql.renew(worker_id, execution_ids, now + timedelta(seconds=lease_seconds), now)
        rows = await self.writer.run(lambda c: sql.fetch(c, renew))
        return {int(row["id"]) for row in rows}

    async def expire_claims(
        self, worker_id: str | None = None, *, keep: Sequence[int] = (), expiring_by: datetime | None = None
    ) -> int:
        """Make `started` executions claimable now (all, or one worker's); returns how many.

        The claim is removed (no holder, no expiry, no back-off); a `started` execution
        without a claim is runnable. On PostgreSQL the listeners are told when any was freed.
        `keep` names executions whose claims stay; with `expiring_by`, only claims that expire
        by then go.
        """
        expire = sql.expire(worker_id, keep=keep, expiring_by=expiring_by)
        return await self.writer.run(lambda c: self._count_and_notify(c, expire))

    async def release_execution(
        self, execution_id: int, worker_id: str, *, run_after: datetime, error: str | None
    ) -> bool:
        """Give up this worker's claim so the execution runs again from `run_after`; False if not held.

        It stays `started` with its jobs and no claim; `error` says why it waits.
        """
        release = sql.release(execution_id, worker_id, run_after, error)
        return await self.writer.run(lambda c: sql.rowcount(c, release)) == 1

    # -- execution history (`ExecutionHistory`) --------------------------------------------

    async def get_execution(self, execution_id: int) -> Execution | None:
        """One execution by id, or None."""
        return await self._execution(select(executions).where(executions.c.id == execution_id))

    async def get_execution_by_event_key(self, event_key: str) -> Execution | None:
        """The execution recorded for an event key, or None."""
        return await self._execution(select(executions).where(executions.c.event_key == event_key))

    async def list_jobs(self, execution_id: int) -> list[Job]:
        """The jobs of an execution in the order they were recorded (by id)."""
        return [to_job(row) for row in await self._read(lambda c: queue.jobs_of(c, execution_id))]

    async def list_executions(self, query: ExecutionFilter) -> list[Execution]:
        """Executions matching the filter, newest first."""
        statement = sql.find_executions(query)
        return [to_execution(row) for row in await self._read(lambda c: sql.fetch(c, statement))]

    async def cancel_execution(self, execution_id: int, *, now: datetime) -> bool:
        """Make an unfinished (queued, started or waiting) execution `canceled`; False when finished."""
        return await self.writer.run(lambda c: sql.rowcount(c, sql.cancel(execution_id, now))) == 1

    async def requeue_execution(self, execution_id: int, *, drop_job_ids: Sequence[int] = ()) -> bool:
        """Queue a finished execution again without these jobs; False when missing or not finished."""

        def requeue(connection: Connection) -> bool:
            queued = sql.requeue(connection, execution_id, drop_job_ids)
            if queued and self._notifies:
                sql.notify(connection, EXECUTIONS_CHANNEL)
            return queued

        return await self.writer.run(requeue)

    async def delete_executions(self, rule: RetentionRule, *, limit: int) -> int:
        """Delete up to `limit` finished executions (with their jobs) matching the rule, oldest first."""
        conditions = sql.expired(rule)
        if conditions is None or limit <= 0:
            return 0
        return await self.writer.run(
            lambda c: sql.delete_executions(c, conditions, limit=limit, lock=self._locks_rows)
        )

    async def count_executions_by_status(self, since: datetime | None = None) -> dict[tuple[str, str], int]:
        """How many executions each (workflow key, status) has (created since `since`, when given)."""
        rows = await self._read(lambda c: sql.fetch(c, sql.count_by_status(since)))
        return {(row["key"], row["status"]): int(row["count"]) for row in rows}

    # -- idempotency keys (`IdempotencyStore`) ---------------------------------------------

    async def add_deduplicated_execution(
        self,
        execution: Execution,
        dedupe: DedupeKey,
        limits: Limits | None,
        *,
        now: datetime,
        jobs: Sequence[Job] = (),
    ) -> DedupeHolder | None:
        """Insert an execution and its jobs unless a live holder has its key; its holder, None when full.

        The claim, the queue-limit count and the insert share the writer's transaction, under the
        key's advisory lock (and the workflow's queue lock, with a queue limit) on PostgreSQL.
        """
        row = execution_row(execution, limits)
        job_rows = [job_row(job) for job in jobs]
        bounded = limits is not None and limits.queue_limit is not None
        steps: list[Step] = [dedupes.lock(dedupe.key)]
        if bounded:
            steps.append(Lock(queue.QUEUE_LOCKS, queue.lock_key(execution.key)))
        steps.append(
            Sync(lambda c: dedupes.add_execution(c, dedupe, row, now, bounded=bounded, jobs=job_rows))
        )
        if self._notifies and execution.status is ExecutionStatus.QUEUED:
            steps.append(Notify(EXECUTIONS_CHANNEL))  # a duplicate wakes the listeners for nothing
        try:
            holder: DedupeHolder | None = await self.writer.write(*steps)
        except exc.IntegrityError as error:
            _raise_if_duplicate(error)
            raise
        return holder

    async def claim_dedupe_key(self, dedupe: DedupeKey, execution_id: int, *, now: datetime) -> DedupeHolder:
        """Take a key (free or expired) for an execution about to run; the key's holder afterwards."""
        claim = Sync(lambda c: dedupes.claim(c, dedupe, execution_id, None, now))
        holder: DedupeHolder = await self.writer.write(dedupes.lock(dedupe.key), claim)
        return holder

    async def get_dedupe_holder(self, key: str, *, now: datetime) -> DedupeHolder | None:
        """The live holder of a key at `now`, or None."""
        return await self._read(lambda c: dedupes.holder(c, key, now))

    async def release_dedupe_key(self, key: str, execution_id: int) -> None:
        """Free a key this execution claimed and never answered."""
        await self.writer.write(dedupes.lock(key), Sync(lambda c: dedupes.release(c, key, execution_id)))

    async def delete_expired_dedupe_keys(self, now: datetime, *, limit: int) -> int:
        """Delete up to `limit` keys expired at `now`, oldest first; how many."""
        if limit <= 0:
            return 0
        return await self.writer.run(lambda c: dedupes.delete_expired(c, now, limit, lock=self._locks_rows))

    # -- rate-limit counts (`RateCountStore`) ----------------------------------------------

    async def count_requests(
        self, added: Mapping[RateWindow, int], read: Collection[RateWindow] = ()
    ) -> dict[RateWindow, int]:
        """Add to rate-limit windows' shared counts; the totals of those and of the `read` ones.

        On PostgreSQL one statement on a pooled connection (its bare asyncpg connection), beside
        the writer: a count is not worth delaying the group commit of accepted requests. SQLite's
        one writer takes it (a single process has nothing to share: only the tests use it there).
        """
        if self._claims_through_writer:
            return await self.writer.run(lambda c: rate_counts.add(c, added, read))
        try:
            async with asyncio.timeout(self._timeout), self.engine.connect() as connection:
                raw = await connection.get_raw_connection()
                return await rate_counts.add_on_postgres(raw.driver_connection, added, read)
        except Exception as error:
            if is_unavailable(error) or isinstance(
                error, asyncpg.PostgresConnectionError | asyncpg.InterfaceError
            ):
                raise unavailable(error) from error
            raise

    async def delete_rate_counts(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` rate-limit windows that started before `before`, oldest first; how many."""
        if limit <= 0:
            return 0
        start = int(before.timestamp())
        lock = self._locks_rows
        return await self.writer.run(lambda c: rate_counts.delete_before(c, start, limit, lock=lock))

    # -- captures (`CaptureStore`) ---------------------------------------------------------

    async def arm_capture(self, capture: Capture) -> None:
        """Durably store a new, armed capture."""
        await self.writer.write(captures.arm(capture))

    async def take_capture(self, key: str, request: JsonObject, *, now: datetime) -> int | None:
        """Give a request to the oldest capture of `key` armed at `now`; its id, or None."""
        lock = self._locks_rows
        return await self.writer.run(lambda c: captures.take(c, key, request, now, lock=lock))

    async def get_capture(self, capture_id: int) -> Capture | None:
        """One capture by id, or None."""
        return await self._read(lambda c: captures.get(c, capture_id))

    async def delete_capture(self, capture_id: int) -> None:
        """Delete a capture; nothing when it is gone already."""
        await self.writer.write(Sync(sql.run(captures.delete_one(capture_id))))

    async def delete_expired_captures(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` captures that expired before `before`, oldest first; how many."""
        if limit <= 0:
            return 0
        lock = self._locks_rows
        return await self.writer.run(lambda c: captures.delete_expired(c, before, limit, lock=lock))

    # -- files of multipart bodies (`FileStore`) -------------------------------------------

    async def add_file(self, file: StoredFile) -> None:
        """Durably insert a file's row, before its bytes; it belongs to no execution yet."""
        await self.writer.run(lambda c: stored_files.insert(c, file))

    async def add_file_chunk(self, file_id: int, position: int, data: bytes) -> None:
        """Durably store the chunk of a file's bytes at `position`."""
        await self.writer.run(lambda c: stored_files.insert_chunk(c, file_id, position, data))

    async def finish_file(self, file_id: int, size: int, sha256: str) -> None:
        """Record a file's size and SHA-256 once its last chunk is stored."""
        await self.writer.run(lambda c: stored_files.finish(c, file_id, size, sha256))

    async def attach_files(self, file_ids: Sequence[int], execution_id: int) -> None:
        """Make files belong to a recorded execution: they are deleted with it from then on."""
        await self.writer.run(lambda c: stored_files.attach(c, file_ids, execution_id))

    async def delete_files(self, file_ids: Sequence[int]) -> None:
        """Delete files with their bytes."""
        await self.writer.run(lambda c: stored_files.delete_files(c, file_ids))

    async def get_file(self, execution_id: int, file_id: int) -> StoredFile | None:
        """A finished file of an execution, or None."""
        return await self._read(lambda c: stored_files.find(c, execution_id, file_id))

    async def read_file_chunk(self, file_id: int, position: int) -> bytes | None:
        """The chunk of a file's bytes at `position`, or None past the last one."""
        return await self._read(lambda c: stored_files.chunk(c, file_id, position))

    async def settle_unattached_files(self, before: datetime, *, limit: int) -> int:
        """Attach or delete up to `limit` files created before `before` that joined no execution; how many."""
        if limit <= 0:
            return 0
        lock = self._locks_rows
        return await self.writer.run(lambda c: stored_files.settle_unattached(c, before, limit, lock=lock))

    # -- plumbing --------------------------------------------------------------------------

    @property
    def _locks_rows(self) -> bool:
        """Whether statements must lock rows (not on SQLite, where the one writer is exclusive anyway)."""
        return not self._claims_through_writer

    def _count_and_notify(self, connection: Connection, statement: Any) -> int:
        """Run an UPDATE that makes executions runnable; notify the listeners when it touched any."""
        count = sql.rowcount(connection, statement)
        if count and self._notifies:
            sql.notify(connection, EXECUTIONS_CHANNEL)
        return count

    async def _workflows(self, query: Any) -> list[Workflow]:
        """The workflows a query selects."""
        return [to_workflow(row) for row in await self._read(lambda c: sql.fetch(c, query))]

    async def _execution(self, query: Any) -> Execution | None:
        """The execution a query selects, or None."""
        rows = await self._read(lambda c: sql.fetch(c, query))
        return to_execution(rows[0]) if rows else None

    async def _read(self, read: Callable[[Connection], T]) -> T:
        """Run a read on a pooled connection (or in the writer for an in-memory database)."""
        if self._reads_through_writer:
            return await self.writer.run(read)
        return await self._pooled(read)

    async def _pooled(self, use: Callable[[Connection], T]) -> T:
        """Run in one transaction on a pooled connection; "cannot reach" becomes StorageUnavailable."""
        try:
            async with asyncio.timeout(self._timeout), self.engine.begin() as connection:
                return await connection.run_sync(use)
        except StorageUnavailable:
            raise
        except Exception as error:
            if is_unavailable(error):
                raise unavailable(error) from error
            raise


def _job_update(job: Job) -> Update:
    """The write that replaces a pending job with its new state (only while it is still pending)."""
    values = job_row(job)
    del values["id"]
    return Update(jobs_table, job.id, ("status", JobStatus.PENDING.value), values)


def _raise_if_duplicate(error: exc.IntegrityError) -> None:
    """A taken event key is the caller's conflict: a 409 `duplicate_event`."""
    if "event_key" in str(error.orig):
        raise RejectedRequest(
            409, "duplicate_event", "An execution with this event key was already recorded."
        ) from error


def _utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
