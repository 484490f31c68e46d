"""The group-commit writer: one task commits everything that is waiting in one shared transaction.

Callers submit a write (a few steps) and await it. While one transaction commits, new writes
queue up; the next transaction takes all of them (up to a cap). Nobody is answered before the
COMMIT that holds their write has returned, so this is as durable as a commit per write, at a
fraction of the flushes. There is no timer: a lone write commits at once.

On an SQLite file the writer can take a fast path (`direct_sqlite`): a batch made only of
inserts, updates and synchronous steps runs whole on a thread of its own (see `_sqlite_writer`).
On PostgreSQL (`direct_postgres`) a batch made only of inserts, updates, locks and notifications
runs as one prepared statement on a bare asyncpg connection of the writer's own (see `_pg_writer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar, cast

from sqlalchemy import Table, bindparam, exc, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from hookline.errors import StorageUnavailable
from hookline.store._pg_writer import DirectPostgres, NotStored, PgBatch, PgUpdates
from hookline.store._sqlite_prepared import PreparedStatement
from hookline.store._sqlite_writer import Call, DirectSqlite, Operation, Rows
from hookline.store.database import WRITE_OPTIONS, is_memory, is_sqlite, is_unavailable, unavailable
from hookline.store.notify import listen_dsn

T = TypeVar("T")

Action: TypeAlias = Callable[[AsyncConnection], Awaitable[Any]]
"""A step that runs statements itself and may return a value (fetched before it returns)."""


@dataclass(frozen=True, slots=True)
class Insert:
    """Plain rows for one table; inserts that follow each other merge into one executemany."""

    table: Table
    rows: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Notify:
    """A PostgreSQL notification on a channel, delivered when the transaction commits.

    However many writes of a batch ask for one, the batch sends it once (after its other
    steps), so group commit keeps one round trip per batch rather than one per write.
    """

    channel: str


@dataclass(frozen=True, slots=True)
class Sync:
    """A step written against a synchronous connection, so it runs on either path.

    On the async path it runs through `AsyncConnection.run_sync`; on the SQLite fast path
    directly on the writer thread's connection. Its value is the write's result.
    """

    action: Callable[[Connection], Any]


@dataclass(frozen=True, slots=True)
class Update:
    """Set some columns of the `table` row with this `id`, if its `guard` column still holds a value.

    Its value is None. The PostgreSQL fast path merges the updates of one shape (table, guard,
    columns) into one `UPDATE … FROM unnest(…)`; elsewhere it is one prepared UPDATE, run like a
    `Sync` step.
    """

    table: Table
    row_id: int
    guard: tuple[str, Any]
    values: Mapping[str, Any]

    def run(self, connection: Connection) -> None:
        """The update on a synchronous connection (the SQLite thread's, or through `run_sync`)."""
        column, value = self.guard
        parameters = {**self.values, "update_id": self.row_id, "update_guard": value}
        _guarded_update(self.table, column).run(connection, parameters)


@functools.cache
def _guarded_update(table: Table, guard: str) -> PreparedStatement:
    """The UPDATE of one row by id and guard, built once per table and guard (SET from the parameters)."""
    return PreparedStatement(
        update(table).where(table.c.id == bindparam("update_id"), table.c[guard] == bindparam("update_guard"))
    )


@dataclass(frozen=True, slots=True, order=True)
class Lock:
    """A PostgreSQL advisory lock `(space, key)`, held until the transaction ends; nothing on SQLite.

    A batch takes the locks of all its writes first, each once and in ascending order, so
    two batches that need the same locks queue behind each other and never deadlock.
    """

    space: int
    key: int


Step: TypeAlias = Insert | Update | Notify | Sync | Lock | Action
"""One part of a write; all steps of a write commit together or not at all."""

FLOOR = 1.0
"""The least time (seconds) a PostgreSQL fast-path batch gets, however near its oldest write's timeout."""

_COMMIT_LOCK = threading.Lock()
"""Orders a write's timeout against its batch's decision to commit (taken on the fast path's thread)."""


@dataclass(slots=True)
class _Write:
    """A submitted write and the future its caller awaits.

    `detached`: the caller giving up (its task cancelled) does not withdraw the write, only
    its timeout does. `expired` and `committing` are only changed under `_COMMIT_LOCK`: a write
    either expires (its caller is told "not stored" and the batch must not commit it) or is
    committing (its caller then waits for the real outcome), never both.
    """

    steps: tuple[Step, ...]
    future: asyncio.Future[Any]
    detached: bool = False
    expired: bool = False
    committing: bool = False
    """Set just before COMMIT: from then on the caller waits for the real outcome."""
    overdue: bool = False
    """Its timeout passed while committing (it expires if that COMMIT turns out refused)."""
    deadline: float | None = None
    """When its timeout passes (loop time); None for a write without one (`submit`)."""

    @property
    def withdrawn(self) -> bool:
        """Whether the write must not be committed: timed out, cancelled by its submitter, or answered."""
        future = self.future
        return self.expired or (future.done() and not (self.detached and future.cancelled()))


@dataclass(slots=True)
class _Call:
    """An action in a batch plan, with the index of the write whose result it gives."""

    index: int
    action: Sync | Update | Action


@dataclass(slots=True)
class _Inserts:
    """Rows merged per table, inserted table by table in the order first seen."""

    rows: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)

    def accepts(self, inserts: Sequence[Insert]) -> bool:
        """Whether these inserts can join without running any table before one it followed."""
        names = [t.name for t in self.tables]
        last = -1
        for insert in inserts:
            if insert.table.name not in names:
                names.append(insert.table.name)
            position = names.index(insert.table.name)
            if position < last:
                return False
            last = position
        return True

    def add(self, inserts: Sequence[Insert]) -> None:
        """Append the rows of these inserts."""
        for insert in inserts:
            if insert.table.name not in self.rows:
                self.rows[insert.table.name] = []
                self.tables.append(insert.table)
            self.rows[insert.table.name].extend(insert.rows)

    async def run(self, connection: AsyncConnection) -> None:
        """One executemany insert per table."""
        for table in self.tables:
            await connection.execute(table.insert(), self.rows[table.name])

    def operations(self) -> list[Operation]:
        """The same inserts for the SQLite fast path."""
        return [Rows(table, self.rows[table.name]) for table in self.tables]


class Writer:
    """Runs every write of one database through one connection, many writes per transaction.

    On PostgreSQL the fast path's batches use a second, bare asyncpg connection; batches still
    commit one at a time, in the order they were taken.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 500,
        max_pending: int = 10_000,
        timeout: float = 10.0,
        direct_sqlite: bool = False,
        direct_postgres: bool = False,
    ) -> None:
        if direct_sqlite and not (is_sqlite(engine) and not is_memory(engine)):
            raise ValueError("the direct SQLite path needs an SQLite file database")
        if direct_postgres and engine.dialect.name != "postgresql":
            raise ValueError("the direct PostgreSQL path needs a PostgreSQL database")
        self._engine = engine
        self._direct = DirectSqlite(engine.dialect, engine.url, timeout=timeout) if direct_sqlite else None
        self._postgres = (
            DirectPostgres(engine.dialect, listen_dsn(engine.url.render_as_string(hide_password=False)))
            if direct_postgres
            else None
        )
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._timeout = timeout
        self._pending: deque[_Write] = deque()
        self._timed: deque[tuple[float, _Write]] = deque()
        """The writes `write` submitted that may still be unanswered, with their deadlines, oldest first."""
        self._watchdog: asyncio.TimerHandle | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        self._closing = False
        self.transactions = 0
        """How many transactions the writer began (batches, retries and one-by-one reruns)."""
        self.writes = 0
        """How many writes the writer took from the queue."""
        self.notifications = 0
        """How many notifications the writer sent (each channel once per transaction)."""

    @property
    def pending(self) -> int:
        """How many writes are waiting for a transaction."""
        return len(self._pending)

    def start(self) -> None:
        """Start the writer task (writes also start it when needed)."""
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._loop(), name="hookline-writer")

    async def write(self, *steps: Step) -> Any:
        """Commit these steps together; returns the last action's value once durable.

        A write not committing after `timeout` seconds fails with StorageUnavailable and is
        never committed later (a batch drops it before its COMMIT). One whose COMMIT is under
        way by then waits for the real outcome. A caller cancelled meanwhile does not withdraw
        its write.
        """
        write = self._enqueue(steps, detached=True)
        write.deadline = deadline = write.future.get_loop().time() + self._timeout
        self._watch(write, deadline)
        # The future awaited directly (no wait_for, no shield): cheaper, and a cancel that lands
        # as the write completes still reaches the caller.
        return await write.future

    def _watch(self, write: _Write, deadline: float) -> None:
        """Expire the write at its deadline unless it is answered by then.

        One timer for all writes rather than one each (a timer costs a few µs to arm and cancel
        on every request): every write has the same timeout, so deadlines come in the order the
        writes do, and the timer only ever waits for the oldest write still unanswered.
        """
        timed = self._timed
        while timed and timed[0][1].future.done():
            timed.popleft()  # answered: they need no timeout any more
        timed.append((deadline, write))
        if self._watchdog is None:
            self._watchdog = write.future.get_loop().call_at(deadline, self._expire_due)

    def _expire_due(self) -> None:
        """The watchdog: expire every unanswered write whose deadline passed, then wait for the next."""
        self._watchdog = None
        timed = self._timed
        loop = asyncio.get_running_loop()
        # Timers may fire a little early (uvloop counts whole milliseconds): a write that is due
        # within one is due now, as its own timer would have had it, and the timer never spins.
        now = loop.time() + 0.001
        while timed and (timed[0][1].future.done() or timed[0][0] <= now):
            _, write = timed.popleft()
            if not write.future.done():
                _expire(write)
        if timed:
            self._watchdog = loop.call_at(timed[0][0], self._expire_due)

    async def call(self, action: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run one action in the writer's transaction and return its value once committed."""
        return cast(T, await self.write(action))

    async def run(self, action: Callable[[Connection], T]) -> T:
        """Run one synchronous action in the writer's transaction; its value once committed."""
        return cast(T, await self.write(Sync(action)))

    async def close(self) -> None:
        """Commit every write already submitted, refuse new ones, and release the connection."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        else:
            await self._release_connection()
        if self._watchdog is not None:  # every write is answered by now
            self._watchdog.cancel()
            self._watchdog = None

    def submit(self, *steps: Step) -> asyncio.Future[Any]:
        """Queue a write now and return its future (no timeout); refused when closing or full.

        Cancelling the future withdraws the write unless its COMMIT is under way.
        """
        future = self._enqueue(steps, detached=False).future
        # A caller that gave up never reads the outcome; mark it read so asyncio does not log it.
        future.add_done_callback(_mark_read)
        return future

    def _enqueue(self, steps: tuple[Step, ...], *, detached: bool) -> _Write:
        """Queue a write and wake the writer; refused when closing or full."""
        if self._closing:
            raise StorageUnavailable("The store is closed; the write was not accepted.")
        if len(self._pending) >= self._max_pending:
            raise StorageUnavailable("Too many writes are waiting for the database.")
        if self._task is None:
            self.start()
        write = _Write(steps, asyncio.get_running_loop().create_future(), detached)
        self._pending.append(write)
        self._wakeup.set()
        return write

    async def _loop(self) -> None:
        """Take everything pending, commit it, answer its callers; until closed and drained."""
        try:
            while self._pending or not self._closing:
                if not self._pending:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                batch = self._take_batch()
                try:
                    await self._commit(batch)
                except Exception as error:  # a bug must fail its batch, not stop every later write
                    _settle_all(batch, error)
        finally:
            _settle([*self._pending], lambda: StorageUnavailable("The store closed before this write."))
            self._pending.clear()
            await self._release_connection()

    def _take_batch(self) -> list[_Write]:
        """Up to `max_batch` waiting writes whose callers still wait."""
        batch: list[_Write] = []
        while self._pending and len(batch) < self._max_batch:
            write = self._pending.popleft()
            if not write.withdrawn:
                batch.append(write)
        self.writes += len(batch)
        return batch

    async def _commit(self, batch: list[_Write]) -> None:
        """Commit a batch; on failure, rerun each write alone so only the faulty one fails."""
        try:
            results = await self._transaction_with_reconnect(batch)
        except _GaveUp:
            live = [write for write in batch if not write.withdrawn]
            if live:
                await self._commit(live)
            return
        except Exception as error:
            await self._fail(batch, error)
            return
        for write, result in zip(batch, results, strict=True):
            if not write.future.done():
                write.future.set_result(result)

    async def _fail(self, batch: list[_Write], error: Exception) -> None:
        """Answer a failed batch: all unavailable, or one by one so only the faulty write fails."""
        if is_unavailable(error):
            _settle(batch, lambda: unavailable(error))
        elif len(batch) > 1:
            for write in batch:
                if not write.withdrawn:  # a caller that gave up must not be committed later
                    await self._commit([write])
        else:
            _settle_all(batch, error)

    async def _transaction_with_reconnect(self, batch: list[_Write]) -> list[Any]:
        """Run the batch; when a reused connection turns out dead before COMMIT, retry on a new one."""
        if self._postgres is not None and _is_direct_postgres(batch):
            reused = self._postgres.connected
        else:
            reused = self._connection is not None
        try:
            return await self._transaction(batch)
        except _NotCommitted as failure:
            if not (reused and _is_dead_connection(failure.error)):
                raise failure.error from None
        try:
            return await self._transaction(batch)
        except _NotCommitted as failure:
            raise failure.error from None

    async def _transaction(self, batch: list[_Write]) -> list[Any]:
        """One transaction for the whole batch; `_NotCommitted` when it failed before COMMIT."""
        if self._direct is not None and _is_direct(batch):
            return await self._direct_transaction(self._direct, batch)
        if self._postgres is not None and _is_direct_postgres(batch):
            return await self._postgres_transaction(self._postgres, batch)
        self.transactions += 1
        committing = False
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._connect()
                transaction = await connection.begin()
                try:
                    results = await self._run_plan(connection, batch)
                    _start_commit(batch)
                    committing = True
                    await transaction.commit()
                except BaseException:
                    await _rollback(transaction)
                    raise
        except Exception as error:
            if is_unavailable(error):
                await self._drop_connection()
            if committing:
                raise
            raise _NotCommitted(error) from error
        return results

    async def _direct_transaction(self, direct: DirectSqlite, batch: list[_Write]) -> list[Any]:
        """The batch on the SQLite fast path, in one call to the writer thread."""
        self.transactions += 1
        operations: list[Operation] = []
        for step in _plan(batch):
            if isinstance(step, _Inserts):
                operations += step.operations()
            elif isinstance(step, _Call) and isinstance(step.action, Sync):
                operations.append(Call(step.index, step.action.action))
            elif isinstance(step, _Call) and isinstance(step.action, Update):
                operations.append(Call(step.index, step.action.run))
        try:
            return await direct.run(operations, len(batch), functools.partial(_start_commit, batch))
        except Exception as error:
            if is_unavailable(error):
                direct.reset()
            raise

    async def _postgres_transaction(self, direct: DirectPostgres, batch: list[_Write]) -> list[Any]:
        """The batch on the PostgreSQL fast path: one statement (after BEGIN and its locks, if any)."""
        self.transactions += 1
        work = PgBatch()
        updates: dict[tuple[Table, str, tuple[str, ...]], PgUpdates] = {}
        for step in _plan(batch):
            if isinstance(step, _Inserts):
                work.inserts += [(table, step.rows[table.name]) for table in step.tables]
            elif isinstance(step, _Call) and isinstance(step.action, Update):
                change = step.action
                shape = (change.table, change.guard[0], tuple(change.values))
                if shape not in updates:
                    updates[shape] = PgUpdates(*shape)
                updates[shape].rows.append((change.row_id, change.guard[1], change.values))
            elif isinstance(step, Lock):
                work.locks.append((step.space, step.key))
            elif isinstance(step, Notify):
                work.channels.append(step.channel)
        work.updates = list(updates.values())
        self.notifications += len(work.channels)
        try:
            async with asyncio.timeout(self._budget(batch)):
                await direct.run(
                    work, functools.partial(_start_commit, batch), functools.partial(_undo_commit, batch)
                )
        except NotStored as failure:
            raise _NotCommitted(failure.error) from failure.error
        return [None] * len(batch)

    def _budget(self, batch: list[_Write]) -> float:
        """Seconds a fast-path batch may take: until its oldest write's timeout, but at least `FLOOR`.

        Without locks its one statement commits as it runs, so its writes are committing (their
        callers wait for the outcome, see `_Write`) from the moment it is sent. With the writer's
        whole timeout, a write that waited nearly that long behind a stalled batch would wait as
        long again; bounded so, each caller hears within about its own timeout.
        """
        deadlines = [write.deadline for write in batch if write.deadline is not None]
        if not deadlines:
            return self._timeout
        left = min(deadlines) - asyncio.get_running_loop().time()
        return min(self._timeout, max(left, min(FLOOR, self._timeout)))

    async def _run_plan(self, connection: AsyncConnection, batch: list[_Write]) -> list[Any]:
        """Run the writes of a batch in order, merging plain inserts; the last action value per write."""
        results: list[Any] = [None] * len(batch)
        for step in _plan(batch):
            if isinstance(step, _Inserts):
                await step.run(connection)
            elif isinstance(step, Lock):
                if connection.dialect.name == "postgresql":  # one SQLite writer excludes the others anyway
                    await connection.execute(select(func.pg_advisory_xact_lock(step.space, step.key)))
            elif isinstance(step, Notify):
                self.notifications += 1
                await connection.execute(select(func.pg_notify(step.channel, "")))
            elif isinstance(step.action, Sync):
                results[step.index] = await connection.run_sync(step.action.action)
            elif isinstance(step.action, Update):
                await connection.run_sync(step.action.run)
            else:
                results[step.index] = await step.action(connection)
        return results

    async def _connect(self) -> AsyncConnection:
        """The writer's own connection, opened on first use and after a failure."""
        if self._connection is None:
            connection = await self._engine.connect()
            self._connection = await connection.execution_options(**WRITE_OPTIONS)
        return self._connection

    async def _drop_connection(self) -> None:
        """Forget a connection that failed; it must not go back to the pool."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await connection.invalidate()

    async def _release_connection(self) -> None:
        """Give the connection back cleanly at close (and stop the fast path's thread)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
        if self._direct is not None:
            await self._direct.close()
        if self._postgres is not None:
            await self._postgres.close()


class _GaveUp(Exception):
    """A caller of the batch gave up before COMMIT; the batch is rolled back and rerun without it."""


class _NotCommitted(Exception):
    """A batch failed before its COMMIT was sent, so nothing of it was stored."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


_DIRECT_STEPS = (Insert, Update, Sync, Lock)
"""The steps the SQLite fast path runs (a lock is moot there: its one writer excludes the others)."""


def _is_direct(batch: list[_Write]) -> bool:
    """Whether the fast path can run this batch: only inserts, updates, synchronous steps and locks."""
    return all(type(step) in _DIRECT_STEPS for write in batch for step in write.steps)


_POSTGRES_STEPS = (Insert, Update, Lock, Notify)
"""The steps the PostgreSQL fast path runs; anything else (claims, checks, `Sync`) keeps SQLAlchemy."""


def _is_direct_postgres(batch: list[_Write]) -> bool:
    """Whether the PostgreSQL fast path can run this batch: only inserts, updates, locks and notifications."""
    return all(type(step) in _POSTGRES_STEPS for write in batch for step in write.steps)


def _start_commit(batch: list[_Write]) -> None:
    """Just before COMMIT: `_GaveUp` if a caller gave up, otherwise every caller waits for COMMIT.

    Runs on the loop or on the fast path's thread; the lock orders it against `_expire`.
    Reading a submitted future's cancellation from the thread is safe under the GIL.
    """
    with _COMMIT_LOCK:
        if any(write.withdrawn for write in batch):
            raise _GaveUp  # a caller timed out meanwhile and was told "not stored"
        for write in batch:
            write.committing = True


def _undo_commit(batch: list[_Write]) -> None:
    """The server refused what would have committed the batch: its writes are not committing any more.

    Nothing of it was stored, so a caller whose timeout passed meanwhile is told so now and its
    write is not rerun; the others wait for the one-by-one reruns with their timeout in force.
    """
    with _COMMIT_LOCK:
        overdue = [write for write in batch if write.overdue]
        for write in batch:
            write.committing = False
            write.overdue = False
        for write in overdue:
            write.expired = True
    for write in overdue:
        if not write.future.done():
            write.future.set_exception(StorageUnavailable("The database did not store this write in time."))


def _expire(write: _Write) -> None:
    """A write's timeout: unless its COMMIT is under way, it is never committed and fails now."""
    with _COMMIT_LOCK:
        if write.committing:
            write.overdue = True
            return  # answering "not stored" now could be a lie: the caller waits for the outcome
        write.expired = True
    if not write.future.done():
        write.future.set_exception(StorageUnavailable("The database did not store this write in time."))


def _mark_read(future: asyncio.Future[Any]) -> None:
    """Retrieve a future's outcome so asyncio does not log an exception nobody awaited."""
    if not future.cancelled():
        future.exception()


def _plan(batch: list[_Write]) -> list[_Inserts | _Call | Notify | Lock]:
    """The batch as merged insert groups and actions, keeping every write's own order.

    The locks come first, each once and sorted (see `Lock`); the notifications come last, each
    channel once: PostgreSQL delivers them at COMMIT anyway.
    """
    locks = sorted({step for write in batch for step in write.steps if isinstance(step, Lock)})
    plan: list[_Inserts | _Call | Notify | Lock] = [*locks]
    group: _Inserts | None = None
    for index, write in enumerate(batch):
        for part in _parts(write.steps):
            if isinstance(part, list):
                if group is None or not group.accepts(part):
                    group = _Inserts()
                    plan.append(group)
                group.add(part)
            else:
                group = None
                plan.append(_Call(index, part))
    notes = {step.channel: step for write in batch for step in write.steps if isinstance(step, Notify)}
    return plan + list(notes.values())


def _parts(steps: tuple[Step, ...]) -> Iterator[list[Insert] | Sync | Update | Action]:
    """Consecutive non-empty inserts as one list, each action alone; notifications and locks are left out."""
    inserts: list[Insert] = []
    for step in steps:
        if isinstance(step, Notify | Lock):
            continue  # _plan takes the locks first and sends the notifications last, each once
        if isinstance(step, Insert):
            if step.rows:
                inserts.append(step)
            continue
        if inserts:
            yield inserts
            inserts = []
        yield step
    if inserts:
        yield inserts


async def _rollback(transaction: AsyncTransaction) -> None:
    """Roll back without letting a dead connection hang or mask the original error."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await transaction.rollback()


def _settle(writes: list[_Write], error: Callable[[], BaseException]) -> None:
    """Fail every write whose caller still waits, each with its own exception object."""
    for write in writes:
        if not write.future.done():
            write.future.set_exception(error())


def _settle_all(writes: list[_Write], error: BaseException) -> None:
    """Fail every write whose caller still waits with one error."""
    _settle(writes, lambda: error)


def _is_dead_connection(error: Exception) -> bool:
    """An error worth one retry on a new connection: the old one died (not a timeout, not a lock)."""
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, exc.InterfaceError)
    return isinstance(error, OSError) and not isinstance(error, TimeoutError)
