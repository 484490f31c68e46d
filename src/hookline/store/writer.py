"""The group-commit writer: one task commits everything that is waiting in one shared transaction.

Callers submit a write (a few steps, see `write_steps`) and await it. While one transaction
commits, new writes queue up; the next transaction takes all of them (up to a cap) and runs them
as one plan (`_batch_plan`). Nobody is answered before the COMMIT that holds their write has
returned, so this is as durable as a commit per write, at a fraction of the flushes. There is no
timer: a lone write commits at once. One watchdog timer fails the writes whose timeout passes
before their COMMIT (`_pending_write` says how the two are ordered).

On an SQLite file the writer can take a fast path (`direct_sqlite`): a batch made only of
inserts, updates and synchronous steps runs whole on a thread of its own (see `_sqlite_writer`).
On PostgreSQL (`direct_postgres`) a batch made only of inserts, updates, locks and notifications
runs as one prepared statement on a bare asyncpg connection of the writer's own (see `_pg_writer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sqlalchemy import exc, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from hookline.errors import StorageUnavailable
from hookline.store._batch_plan import (
    InsertGroup,
    fits_postgres,
    fits_sqlite,
    plan,
    postgres_batch,
    sqlite_operations,
)
from hookline.store._pending_write import (
    GaveUp,
    PendingWrite,
    expire,
    mark_read,
    settle,
    settle_all,
    start_commit,
    undo_commit,
)
from hookline.store._pg_writer import DirectPostgres, NotStored
from hookline.store._sqlite_writer import DirectSqlite
from hookline.store.database import WRITE_OPTIONS, is_memory, is_sqlite, is_unavailable, unavailable
from hookline.store.notify import listen_dsn
from hookline.store.write_steps import Lock, Notify, Step, Sync, Update

T = TypeVar("T")

FLOOR = 1.0
"""The least time (seconds) a PostgreSQL fast-path batch gets, however near its oldest write's timeout."""


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
        self._pending: deque[PendingWrite] = deque()
        self._timed: deque[tuple[float, PendingWrite]] = deque()
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

    def _watch(self, write: PendingWrite, deadline: float) -> None:
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
                expire(write)
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
        future.add_done_callback(mark_read)
        return future

    def _enqueue(self, steps: tuple[Step, ...], *, detached: bool) -> PendingWrite:
        """Queue a write and wake the writer; refused when closing or full."""
        if self._closing:
            raise StorageUnavailable("The store is closed; the write was not accepted.")
        if len(self._pending) >= self._max_pending:
            raise StorageUnavailable("Too many writes are waiting for the database.")
        if self._task is None:
            self.start()
        write = PendingWrite(steps, asyncio.get_running_loop().create_future(), detached)
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
                    settle_all(batch, error)
        finally:
            settle([*self._pending], lambda: StorageUnavailable("The store closed before this write."))
            self._pending.clear()
            await self._release_connection()

    def _take_batch(self) -> list[PendingWrite]:
        """Up to `max_batch` waiting writes whose callers still wait."""
        batch: list[PendingWrite] = []
        while self._pending and len(batch) < self._max_batch:
            write = self._pending.popleft()
            if not write.withdrawn:
                batch.append(write)
        self.writes += len(batch)
        return batch

    async def _commit(self, batch: list[PendingWrite]) -> None:
        """Commit a batch; on failure, rerun each write alone so only the faulty one fails."""
        try:
            results = await self._transaction_with_reconnect(batch)
        except GaveUp:
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

    async def _fail(self, batch: list[PendingWrite], error: Exception) -> None:
        """Answer a failed batch: all unavailable, or one by one so only the faulty write fails."""
        if is_unavailable(error):
            settle(batch, lambda: unavailable(error))
        elif len(batch) > 1:
            for write in batch:
                if not write.withdrawn:  # a caller that gave up must not be committed later
                    await self._commit([write])
        else:
            settle_all(batch, error)

    async def _transaction_with_reconnect(self, batch: list[PendingWrite]) -> list[Any]:
        """Run the batch; when a reused connection turns out dead before COMMIT, retry on a new one."""
        if self._postgres is not None and fits_postgres(batch):
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

    async def _transaction(self, batch: list[PendingWrite]) -> list[Any]:
        """One transaction for the whole batch; `_NotCommitted` when it failed before COMMIT."""
        if self._direct is not None and fits_sqlite(batch):
            return await self._direct_transaction(self._direct, batch)
        if self._postgres is not None and fits_postgres(batch):
            return await self._postgres_transaction(self._postgres, batch)
        self.transactions += 1
        committing = False
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._connect()
                transaction = await connection.begin()
                try:
                    results = await self._run_plan(connection, batch)
                    start_commit(batch)
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

    async def _direct_transaction(self, direct: DirectSqlite, batch: list[PendingWrite]) -> list[Any]:
        """The batch on the SQLite fast path, in one call to the writer thread."""
        self.transactions += 1
        operations = sqlite_operations(batch)
        try:
            return await direct.run(operations, len(batch), functools.partial(start_commit, batch))
        except Exception as error:
            if is_unavailable(error):
                direct.reset()
            raise

    async def _postgres_transaction(self, direct: DirectPostgres, batch: list[PendingWrite]) -> list[Any]:
        """The batch on the PostgreSQL fast path: one statement (after BEGIN and its locks, if any)."""
        self.transactions += 1
        work = postgres_batch(batch)
        self.notifications += len(work.channels)
        try:
            async with asyncio.timeout(self._budget(batch)):
                await direct.run(
                    work, functools.partial(start_commit, batch), functools.partial(undo_commit, batch)
                )
        except NotStored as failure:
            raise _NotCommitted(failure.error) from failure.error
        return [None] * len(batch)

    def _budget(self, batch: list[PendingWrite]) -> float:
        """Seconds a fast-path batch may take: until its oldest write's timeout, but at least `FLOOR`.

        Without locks its one statement commits as it runs, so its writes are committing (their
        callers wait for the outcome, see `PendingWrite`) from the moment it is sent. With the writer's
        whole timeout, a write that waited nearly that long behind a stalled batch would wait as
        long again; bounded so, each caller hears within about its own timeout.
        """
        deadlines = [write.deadline for write in batch if write.deadline is not None]
        if not deadlines:
            return self._timeout
        left = min(deadlines) - asyncio.get_running_loop().time()
        return min(self._timeout, max(left, min(FLOOR, self._timeout)))

    async def _run_plan(self, connection: AsyncConnection, batch: list[PendingWrite]) -> list[Any]:
        """Run the writes of a batch in order, merging plain inserts; the last action value per write."""
        results: list[Any] = [None] * len(batch)
        for step in plan(batch):
            if isinstance(step, InsertGroup):
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


class _NotCommitted(Exception):
    """A batch failed before its COMMIT was sent, so nothing of it was stored."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def _rollback(transaction: AsyncTransaction) -> None:
    """Roll back without letting a dead connection hang or mask the original error."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await transaction.rollback()


def _is_dead_connection(error: Exception) -> bool:
    """An error worth one retry on a new connection: the old one died (not a timeout, not a lock)."""
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, exc.InterfaceError)
    return isinstance(error, OSError) and not isinstance(error, TimeoutError)
