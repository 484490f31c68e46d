"""The group-commit writer: one task commits everything that is waiting in one shared transaction.

Callers submit a write (a few steps) and await it. While one transaction commits, new writes
queue up; the next transaction takes all of them (up to a cap). Nobody is answered before the
COMMIT that holds their write has returned, so this is as durable as a commit per write, at a
fraction of the flushes. There is no timer: a lone write commits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar, cast

from sqlalchemy import Table, exc, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from hookline.errors import StorageUnavailable
from hookline.store.database import WRITE_OPTIONS, is_unavailable, unavailable

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


Step: TypeAlias = Insert | Notify | Action
"""One part of a write; all steps of a write commit together or not at all."""


@dataclass(slots=True)
class _Write:
    """A submitted write and the future its caller awaits."""

    steps: tuple[Step, ...]
    future: asyncio.Future[Any]
    committing: bool = False
    """Set just before COMMIT: from then on the caller waits for the real outcome."""


@dataclass(slots=True)
class _Call:
    """An action in a batch plan, with the index of the write whose result it gives."""

    index: int
    action: Action


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


class Writer:
    """Runs every write of one database through one connection, many writes per transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 500,
        max_pending: int = 10_000,
        timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._timeout = timeout
        self._pending: deque[_Write] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        self._closing = False
        self.transactions = 0
        """How many transactions the writer began (batches, retries and one-by-one reruns)."""
        self.writes = 0
        """How many writes the writer took from the queue."""

    @property
    def pending(self) -> int:
        """How many writes are waiting for a transaction."""
        return len(self._pending)

    def start(self) -> None:
        """Start the writer task (writes also start it when needed)."""
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._loop(), name="hookline-writer")

    async def write(self, *steps: Step) -> Any:
        """Commit these steps together; returns the last action's value once durable."""
        write = self._submit(steps)
        try:
            # Not wait_for: on Python 3.11 it can swallow a cancel that lands as the write completes,
            # and a worker being stopped would then never stop.
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(write.future)
        except TimeoutError:
            if write.committing:
                # Its COMMIT is under way: answering "not stored" now could be a lie.
                return await write.future
            write.future.cancel()  # it will never commit: a batch drops given-up writes before COMMIT
            raise StorageUnavailable("The database did not store this write in time.") from None

    async def call(self, action: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run one action in the writer's transaction and return its value once committed."""
        return cast(T, await self.write(action))

    async def close(self) -> None:
        """Commit every write already submitted, refuse new ones, and release the connection."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        else:
            await self._release_connection()

    def submit(self, *steps: Step) -> asyncio.Future[Any]:
        """Queue a write now and return its future (no timeout); refused when closing or full."""
        return self._submit(steps).future

    def _submit(self, steps: tuple[Step, ...]) -> _Write:
        if self._closing:
            raise StorageUnavailable("The store is closed; the write was not accepted.")
        if len(self._pending) >= self._max_pending:
            raise StorageUnavailable("Too many writes are waiting for the database.")
        self.start()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # A caller that gave up never reads the outcome; mark it read so asyncio does not log it.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        write = _Write(steps, future)
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
            if not write.future.done():
                batch.append(write)
        self.writes += len(batch)
        return batch

    async def _commit(self, batch: list[_Write]) -> None:
        """Commit a batch; on failure, rerun each write alone so only the faulty one fails."""
        try:
            results = await self._transaction_with_reconnect(batch)
        except _GaveUp:
            live = [write for write in batch if not write.future.done()]
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
                if not write.future.done():  # a caller that gave up must not be committed later
                    await self._commit([write])
        else:
            _settle_all(batch, error)

    async def _transaction_with_reconnect(self, batch: list[_Write]) -> list[Any]:
        """Run the batch; when a reused connection turns out dead before COMMIT, retry on a new one."""
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
        self.transactions += 1
        committing = False
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._connect()
                transaction = await connection.begin()
                try:
                    results = await _run_plan(connection, batch)
                    if any(write.future.done() for write in batch):
                        raise _GaveUp  # a caller timed out meanwhile and was told "not stored"
                    for write in batch:
                        write.committing = True
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
        """Give the connection back cleanly at close."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class _GaveUp(Exception):
    """A caller of the batch gave up before COMMIT; the batch is rolled back and rerun without it."""


class _NotCommitted(Exception):
    """A batch failed before its COMMIT was sent, so nothing of it was stored."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def _run_plan(connection: AsyncConnection, batch: list[_Write]) -> list[Any]:
    """Run the writes of a batch in order, merging plain inserts; the last action value per write."""
    results: list[Any] = [None] * len(batch)
    for step in _plan(batch):
        if isinstance(step, _Inserts):
            await step.run(connection)
        elif isinstance(step, Notify):
            await connection.execute(select(func.pg_notify(step.channel, "")))
        else:
            results[step.index] = await step.action(connection)
    return results


def _plan(batch: list[_Write]) -> list[_Inserts | _Call | Notify]:
    """The batch as merged insert groups and actions, keeping every write's own order.

    The notifications come last, each channel once: PostgreSQL delivers them at COMMIT anyway.
    """
    plan: list[_Inserts | _Call | Notify] = []
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


def _parts(steps: tuple[Step, ...]) -> Iterator[list[Insert] | Action]:
    """Consecutive non-empty inserts as one list, each action alone; notifications are left out."""
    inserts: list[Insert] = []
    for step in steps:
        if isinstance(step, Notify):
            continue  # _plan sends them once, after everything else
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
