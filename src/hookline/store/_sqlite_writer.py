"""The SQLite fast path of the writer: each whole batch in one call on a thread of its own.

Through SQLAlchemy's async layer every statement of a transaction (BEGIN, each executemany,
COMMIT) is a round trip to aiosqlite's thread, and every insert processes its parameters on
the event loop. Here the batch crosses to a dedicated thread once. There a stdlib `sqlite3`
connection (same pragmas) begins the transaction (`BEGIN IMMEDIATE`), inserts the rows with
INSERT statements compiled once per table from the SQLAlchemy tables, the rows encoded exactly
as the column types encode them, runs the batch's synchronous steps, and commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import operator
import os
import queue
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, Dialect, Table, exc
from sqlalchemy.engine import URL, Connection, Engine

from hookline.store.database import sqlite_sync_engine
from hookline.store.schema import UtcDateTime

T = TypeVar("T")

log = logging.getLogger(__name__)

WRITER_PRIORITY_BOOST = 10
"""Nice levels the writer thread asks to run above its process (Linux, when permitted).

It holds the database's write lock, and other processes' writers wait for it (`serve
--processes N`): preempted by its own event loop or another process in the middle of a
transaction, it kept them waiting for nothing. With two processes at 10,400 executions/s, its
median COMMIT fell from 0.73-0.77 to 0.55-0.62 ms and the writers waited a third less for the lock
(docs/benchmarks.md). It runs short bursts, about a quarter of a core at most, so it cannot starve
the rest.
"""

Encode = Callable[[Any], Any]
"""Turns one Python value into what the driver binds, as the column's SQLAlchemy type does."""

SyncAction = Callable[[Connection], Any]
"""A step run on the synchronous connection; its value goes back to the write's caller."""

_PLAIN_JSON = frozenset({dict, list, str, int, float, bool, type(None)})


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows for one table, inserted with one executemany."""

    table: Table
    rows: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Call:
    """A synchronous step whose value is the result of write number `index` of the batch."""

    index: int
    action: SyncAction


Operation = Rows | Call
"""One part of a batch, run in order."""


class DirectSqlite:
    """Runs whole batches on one `sqlite3` connection, in a thread that owns it.

    The connection opens on the first batch and after `reset`; only the thread touches it.
    BEGIN IMMEDIATE, the inserts and COMMIT go straight to `sqlite3`; the synchronous steps
    run on a SQLAlchemy `Connection` over the same `sqlite3` connection, inside that
    transaction (SQLAlchemy's own BEGIN emits nothing on this engine).
    """

    def __init__(self, dialect: Dialect, url: URL, *, timeout: float) -> None:
        self._inserts = _InsertStatements(dialect)
        self._url = url
        self._timeout = timeout
        self._lock = _WriterLock.beside(url.database)
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._raw: sqlite3.Connection | None = None
        self._thread = _Thread("hookline-sqlite-writer", boost=WRITER_PRIORITY_BOOST)
        self._closed = False

    async def run(self, operations: list[Operation], size: int, gate: Callable[[], None]) -> list[Any]:
        """Run the operations in one transaction; the values of the batch's `size` writes.

        `gate` is called on the thread just before COMMIT; an exception from it rolls the
        batch back instead. After the timeout (seconds) `run` raises TimeoutError: a batch that
        has not reached its COMMIT by then stops and is rolled back, so nothing of it is stored.
        """
        batch = _Batch(operations, size, gate)
        running = self._thread.submit(functools.partial(self._transaction, batch))
        try:
            async with asyncio.timeout(self._timeout):
                return await running
        except TimeoutError:
            batch.abandon()
            raise

    def reset(self) -> None:
        """Close the connection after a failure; the next batch, queued behind, opens a new one.

        It does not wait: the thread may still be busy with a batch that was abandoned.
        """
        self._thread.submit(self._disconnect)

    async def close(self) -> None:
        """Close the connection and the engine, then stop the thread; closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._thread.submit(self._dispose)
        finally:
            self._thread.stop()

    def _transaction(self, batch: _Batch) -> list[Any]:
        """On the thread: BEGIN IMMEDIATE, the operations, COMMIT; roll back on any error."""
        batch.check()  # abandoned while it waited for the thread: it never begins
        connection, raw = self._connection, self._raw
        if connection is None or raw is None:
            connection, raw = self._connect()
        with self._lock:
            _execute(raw, "BEGIN IMMEDIATE")
            try:
                self._operations(batch, connection, raw)
                if connection.in_transaction():
                    connection.commit()  # a step used SQLAlchemy: its commit sends the COMMIT
                else:
                    _execute(raw, "COMMIT")
            except BaseException:
                _rollback(connection, raw)
                raise
        return batch.results

    def _operations(self, batch: _Batch, connection: Connection, raw: sqlite3.Connection) -> None:
        """The batch's inserts and steps in order, interruptible until its COMMIT starts."""
        batch.attach(raw)
        try:
            for operation in batch.operations:
                batch.check()
                if isinstance(operation, Rows):
                    statement = self._inserts.get(operation.table, tuple(operation.rows[0]))
                    _execute_many(raw, statement.sql, statement.encode(operation.rows))
                else:
                    batch.results[operation.index] = operation.action(connection)
            batch.start_commit()
        finally:
            # Never interrupt BEGIN, COMMIT or ROLLBACK: only the batch's own statements.
            batch.attach(None)

    def _connect(self) -> tuple[Connection, sqlite3.Connection]:
        """Open the thread's connection (the engine applies the pragmas)."""
        if self._engine is None:
            self._engine = sqlite_sync_engine(self._url)
        connection = self._engine.connect()
        raw = connection.connection.driver_connection
        if not isinstance(raw, sqlite3.Connection):
            raise TypeError(f"expected an sqlite3 connection, got {type(raw).__name__}")
        self._connection, self._raw = connection, raw
        return connection, raw

    def _disconnect(self) -> None:
        """On the thread: close the connection, ignoring a broken one (the engine and its dialect stay)."""
        connection, self._connection, self._raw = self._connection, None, None
        with contextlib.suppress(Exception):  # a broken connection is dropped either way
            if connection is not None:
                connection.close()
            if self._engine is not None:
                self._engine.dispose()  # its pool holds the one sqlite3 connection: really close it

    def _dispose(self) -> None:
        """On the thread: close the connection and the engine for good."""
        self._disconnect()
        self._engine = None
        self._lock.close()


class _WriterLock:
    """An advisory lock on a file beside the database, held by a writer for each of its transactions.

    Every hookline process that writes one SQLite file (`serve --processes N`, the CLI beside a
    server) takes it before BEGIN IMMEDIATE, so they take turns in the kernel: a waiting writer
    wakes the moment the other one's transaction ends. Without it, a writer that found the file
    locked slept in SQLite's busy handler, 1 ms, then 2, 5, 10 … up to 100 ms between tries, while
    the other process took the lock again and again. SQLite's own locking still decides: this only
    orders hookline's writers (a lock file no writer can open is simply not used).
    """

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd: int | None = None

    @classmethod
    def beside(cls, database: str | None) -> _WriterLock:
        """The lock of a database file (`<file>-writer.lock`); none for a URI or an in-memory database."""
        if not database or database == ":memory:" or database.startswith("file:"):
            return cls(None)
        return cls(os.path.expanduser(database) + "-writer.lock")

    def __enter__(self) -> None:
        if self._fd is None and self._path is not None:
            with contextlib.suppress(OSError):  # unusable: the writers take turns in SQLite alone
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file (a later transaction opens it again)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class _Thread:
    """One daemon thread running jobs in order, each job's outcome set on an asyncio future.

    Leaner than a ThreadPoolExecutor with `run_in_executor` (no concurrent future, no lock
    per hand-off), which mattered at one hand-off per batch on a busy core.
    """

    def __init__(self, name: str, *, boost: int = 0) -> None:
        self._name = name
        self._boost = boost
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], T]) -> asyncio.Future[T]:
        """Queue a job; its future gets the value or the exception (ignored once cancelled)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()
        self._jobs.put((job, future))
        return future

    def stop(self) -> None:
        """Let the thread end once the jobs queued so far are done."""
        self._jobs.put(None)

    def _serve(self) -> None:
        if self._boost:
            raise_thread_priority(self._boost)
        while (item := self._jobs.get()) is not None:
            job, future = item
            try:
                result, error = job(), None
            except BaseException as failure:  # every outcome must reach the waiting caller
                result, error = None, failure
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                future.get_loop().call_soon_threadsafe(_settle, future, result, error)


def raise_thread_priority(levels: int) -> bool:
    """Run the calling thread `levels` nice levels above its process's; False where not permitted.

    Linux only: there a thread has a nice value of its own. Lowering one needs CAP_SYS_NICE (or a
    matching RLIMIT_NICE), which an unprivileged user or a default container lacks; the thread then
    simply runs at its process's priority.
    """
    if not sys.platform.startswith("linux"):
        return False
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, os.getpid()) - levels)
    except OSError as error:
        log.debug("thread %s keeps its process's priority: %s", threading.current_thread().name, error)
        return False
    return True


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """On the loop: give a job's outcome to its future, unless its caller gave up."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _execute(raw: sqlite3.Connection, sql: str) -> None:
    """One statement; driver errors become SQLAlchemy's, as on every other path."""
    try:
        raw.execute(sql)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def _execute_many(raw: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """One executemany; driver errors become SQLAlchemy's, as on every other path."""
    try:
        raw.executemany(sql, rows)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, rows, error, sqlite3.Error, ismulti=True) from error


def _rollback(connection: Connection, raw: sqlite3.Connection) -> None:
    """Roll back whatever the batch began, without masking the error that stopped it."""
    with contextlib.suppress(Exception):
        if connection.in_transaction():
            connection.rollback()
        if raw.in_transaction:
            raw.execute("ROLLBACK")


@dataclass(slots=True)
class _Batch:
    """One batch on its way through the thread, and whether its caller still waits for it."""

    operations: list[Operation]
    size: int
    gate: Callable[[], None]
    results: list[Any] = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _abandoned: bool = field(init=False, default=False)
    _committing: bool = field(init=False, default=False)
    _running_on: sqlite3.Connection | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.results = [None] * self.size

    def check(self) -> None:
        """Stop before the next statement when the caller gave up."""
        if self._abandoned:
            raise TimeoutError("the batch was abandoned after its timeout")

    def start_commit(self) -> None:
        """Pass the gate; from here on the batch commits and a late `abandon` no longer stops it."""
        with self._lock:
            self.check()
            self.gate()
            self._committing = True

    def abandon(self) -> None:
        """The caller gave up: stop at the next statement, and interrupt the one running now."""
        with self._lock:
            self._abandoned = True
            if self._running_on is not None and not self._committing:
                # sqlite3_interrupt aborts only statements running now, that is this batch's.
                self._running_on.interrupt()

    def attach(self, raw: sqlite3.Connection | None) -> None:
        """Say which connection runs this batch's statements now (None once they are done)."""
        with self._lock:
            self._running_on = raw


@dataclass(frozen=True, slots=True)
class _InsertStatement:
    """An INSERT compiled for some columns of a table, and how to encode a row for it."""

    sql: str
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    """The row's values in parameter order."""
    encoders: tuple[tuple[int, Encode], ...]
    """The positions whose values need encoding, with their encoders."""

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Each row as the tuple of driver values, in the statement's parameter order."""
        pick, encoders = self.pick, self.encoders
        encoded: list[tuple[Any, ...]] = []
        try:
            for row in rows:
                values = list(pick(row))
                for position, encode in encoders:
                    values[position] = encode(values[position])
                encoded.append(tuple(values))
        except Exception as error:
            # SQLAlchemy reports a value it cannot bind as a StatementError; so does this.
            raise exc.StatementError(f"cannot bind a value: {error!r}", self.sql, None, error) from error
        return encoded


class _InsertStatements:
    """INSERT statements compiled once per (table, columns) with the SQLite dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._compiled: dict[tuple[str, tuple[str, ...]], _InsertStatement] = {}

    def get(self, table: Table, keys: tuple[str, ...]) -> _InsertStatement:
        """The statement for rows of `table` holding `keys`."""
        found = self._compiled.get((table.name, keys))
        if found is None:
            found = self._compiled[(table.name, keys)] = self._compile(table, keys)
        return found

    def _compile(self, table: Table, keys: tuple[str, ...]) -> _InsertStatement:
        compiled = table.insert().compile(dialect=self._dialect, column_keys=list(keys))
        order = tuple(compiled.positiontup or ())
        encoders = ((i, column_encoder(table.c[key], self._dialect)) for i, key in enumerate(order))
        return _InsertStatement(
            compiled.string, _picker(order), tuple((i, e) for i, e in encoders if e is not None)
        )


def _picker(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A function giving a row's values for `keys` as a tuple (itemgetter, also for one key)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return operator.itemgetter(*keys)


def column_encoder(column: Any, dialect: Dialect) -> Encode | None:
    """How a value is bound to this column on SQLite: the type's processor, with fast forms.

    UtcDateTime and JSON are the hot ones: their SQLAlchemy processors are replaced by direct
    equivalents (checked against SQLAlchemy in the tests); anything unusual falls back to them.
    """
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(column.type, UtcDateTime):
        return _encode_timestamp
    impl = column.type.dialect_impl(dialect)
    if isinstance(impl, JSON) and not impl.none_as_null and processor is not None:
        return _json_encoder(processor)
    return processor  # type: ignore[no-any-return]


def _encode_timestamp(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite text of a UtcDateTime: the naive UTC time with microseconds.

    The format is the one SQLAlchemy's SQLite DATETIME type writes (its `_storage_format`).
    """
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware, got the naive {value!r}")
        value = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 (faster than isoformat here)
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def _json_encoder(fallback: Encode) -> Encode:
    """orjson text for plain JSON values (None is the JSON `null`), SQLAlchemy's processor otherwise."""
    plain, dumps = _PLAIN_JSON, orjson.dumps

    def encode(value: Any) -> Any:
        # What `dump_json` does (the engine's serialiser), without a call in between.
        return dumps(value).decode() if type(value) in plain else fallback(value)

    return encode
