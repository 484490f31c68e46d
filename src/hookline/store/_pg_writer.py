"""The writer's PostgreSQL fast path: inserts, updates, locks and notifications on a bare asyncpg connection.

SQLAlchemy's async engine costs about 1 ms of CPU on the event loop per batch (greenlet switches,
parameter processing, four round trips). Here a batch becomes at most one prepared statement,
built once per shape and reused:

    WITH i0 AS (INSERT INTO executions (…) SELECT * FROM unnest($1::BIGINT[], …)),
         i1 AS (INSERT INTO jobs (…) SELECT * FROM unnest(…)),
         u0 AS (UPDATE executions AS t SET status = v.c0, …
                FROM unnest($k::BIGINT[], $g::VARCHAR[], …) AS v (k, g, c0, …)
                WHERE t.id = v.k AND t.status = v.g)
    SELECT pg_notify(channel, '') FROM unnest($n::TEXT[]) AS channel

Without locks it runs alone, in its own implicit transaction: one round trip, committed whole or
not at all. With locks it runs between `BEGIN; SELECT pg_advisory_xact_lock(…); …` (one round
trip, the locks sorted) and `COMMIT`. Values go through the columns' own SQLAlchemy bind
processors, so the stored values are those of the SQLAlchemy path (JSON text from the engine's
serialiser, UTC timestamps). Sibling inserts in one statement see each other's rows when their
foreign keys are checked (at the end of the statement), so jobs may join their execution. All parts
of the statement see the same snapshot, so an update never meets a row inserted beside it: the
writer's callers only update rows that committed before (a worker finishes what it claimed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import Column, Table, exc
from sqlalchemy.engine import Dialect

from hookline.store.database import is_unavailable
from hookline.store.notify import close_connection

APPLICATION_NAME = "hookline-writer"
"""How the fast path's connection shows up in `pg_stat_activity`."""

Processor = Callable[[Any], Any] | None
"""A column's bind processor on the engine's dialect (None: values go as they are)."""


class ConnectionLost(ConnectionError):
    """The fast path's connection broke (an OSError, so the writer treats it as unavailable)."""


class NotStored(Exception):
    """The batch failed and nothing of it was stored (the server refused it, or it was never sent)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(slots=True)
class PgUpdates:
    """Updates of one shape: rows of `table` found by id, where `guard` holds a value, get `columns` set.

    Each row is (id, the guard's value, the values by column name).
    """

    table: Table
    guard: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, Any, Mapping[str, Any]]] = field(default_factory=list)


@dataclass(slots=True)
class PgBatch:
    """What the fast path runs: locks, rows merged per table (in order), updates, notification channels."""

    locks: list[tuple[int, int]] = field(default_factory=list)
    inserts: list[tuple[Table, Sequence[Mapping[str, Any]]]] = field(default_factory=list)
    updates: list[PgUpdates] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Shape:
    """A prepared statement for one batch shape, with each insert group's columns and processors."""

    statement: asyncpg.prepared_stmt.PreparedStatement
    groups: tuple[tuple[tuple[str, ...], tuple[Processor, ...]], ...]
    changes: tuple[tuple[Processor, Processor, tuple[Processor, ...]], ...]
    """Per update group: the processors of the id, of the guard, and of each column set."""


class DirectPostgres:
    """Runs insert/lock/notify batches on a connection of its own, outside SQLAlchemy."""

    def __init__(self, dialect: Dialect, dsn: str) -> None:
        self._dialect = dialect
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._shapes: dict[tuple[Any, ...], _Shape] = {}

    @property
    def connected(self) -> bool:
        """Whether a connection is open (a failure in the next batch is then worth one retry)."""
        return self._connection is not None and not self._connection.is_closed()

    async def run(
        self, batch: PgBatch, start_commit: Callable[[], None], undo_commit: Callable[[], None]
    ) -> None:
        """Run and commit the batch; `start_commit` just before what commits, `undo_commit` if refused.

        Raises `NotStored` when nothing was stored; any other error after `start_commit` leaves
        the outcome unknown (the connection is then dropped).
        """
        if not batch.inserts and not batch.updates and not batch.channels and not batch.locks:
            start_commit()
            return
        sent = False
        query: str | None = None
        try:
            connection = await self._connect()
            shape, arguments = await self._bind(connection, batch)
            query = shape.statement.get_query()
            if batch.locks:
                try:
                    await connection.execute(_begin_and_lock(batch.locks))
                    await shape.statement.fetch(*arguments)
                    start_commit()
                except BaseException as error:
                    if not _broken(error):  # a lost connection rolls back by itself
                        await self._rollback(connection)
                    raise
                sent = True
                await connection.execute("COMMIT")
            else:
                start_commit()
                sent = True
                await shape.statement.fetch(*arguments)
        except asyncio.CancelledError:  # a timeout: the connection is in an unknown state
            self._drop()
            raise
        except (asyncpg.PostgresError, *_BREAKING) as error:
            if _broken(error):
                raise self._lost(error, sent) from error
            # The server refused it, or asyncpg could not encode a value: either way nothing is stored.
            translated = _translate(error, query)
            if is_unavailable(translated):
                self._drop()
            if sent:
                undo_commit()
            raise NotStored(translated) from error

    def _lost(self, error: BaseException, sent: bool) -> Exception:
        """Drop the connection; the error to raise (NotStored when nothing that commits was sent)."""
        self._drop()
        lost = error if isinstance(error, OSError) else ConnectionLost(str(error) or type(error).__name__)
        return lost if sent else NotStored(lost)

    async def _connect(self) -> asyncpg.Connection:
        """The connection, opened on first use and after a loss (prepared statements go with it)."""
        if self._connection is not None and self._connection.is_closed():
            self._drop()
        if self._connection is None:
            self._connection = await asyncpg.connect(
                self._dsn, server_settings={"application_name": APPLICATION_NAME}
            )
        return self._connection

    async def _bind(self, connection: asyncpg.Connection, batch: PgBatch) -> tuple[_Shape, list[Any]]:
        """The batch's prepared statement (prepared on first use of its shape) and its arguments."""
        key = (
            tuple((table, tuple(rows[0])) for table, rows in batch.inserts),
            tuple((u.table, u.guard, u.columns) for u in batch.updates),
            bool(batch.channels),
        )
        shape = self._shapes.get(key)
        if shape is None:
            shape = await self._prepare(connection, batch)
            self._shapes[key] = shape
        arguments: list[Any] = []
        for (columns, processors), (_table, rows) in zip(shape.groups, batch.inserts, strict=True):
            try:
                for name, process in zip(columns, processors, strict=True):
                    arguments.append(_bound(process, (row[name] for row in rows)))
            except KeyError as error:
                raise exc.StatementError(f"a value is required for {error}", None, None, None) from None
        for (key_process, guard_process, processors), updates in zip(
            shape.changes, batch.updates, strict=True
        ):
            arguments.append(_bound(key_process, (row_id for row_id, _guard, _values in updates.rows)))
            arguments.append(_bound(guard_process, (guard for _id, guard, _values in updates.rows)))
            for name, process in zip(updates.columns, processors, strict=True):
                arguments.append(_bound(process, (values[name] for _id, _guard, values in updates.rows)))
        if batch.channels:
            arguments.append(batch.channels)
        return shape, arguments

    async def _prepare(self, connection: asyncpg.Connection, batch: PgBatch) -> _Shape:
        """Build and prepare the statement for the shape of this batch."""
        quote = self._dialect.identifier_preparer
        inserts: list[str] = []
        groups: list[tuple[tuple[str, ...], tuple[Processor, ...]]] = []
        number = 0
        for index, (table, rows) in enumerate(batch.inserts):
            names = tuple(rows[0])
            columns = [_column(table, name) for name in names]
            arrays: list[str] = []
            for column in columns:
                number += 1
                arrays.append(f"${number}::{self._array_type(column)}")
            # Table and column names come from the schema (unknown ones are refused), never from input.
            target = f"{quote.format_table(table)} ({', '.join(quote.quote(c.name) for c in columns)})"
            inserts.append(f"i{index} AS (INSERT INTO {target} SELECT * FROM unnest({', '.join(arrays)}))")  # noqa: S608
            groups.append((names, tuple(map(self._processor, columns))))
        changes: list[tuple[Processor, Processor, tuple[Processor, ...]]] = []
        for index, updates in enumerate(batch.updates):
            key, guard = _column(updates.table, "id"), _column(updates.table, updates.guard)
            columns = [_column(updates.table, name) for name in updates.columns]
            arrays = []
            for column in (key, guard, *columns):
                number += 1
                arrays.append(f"${number}::{self._array_type(column)}")
            aliases = ", ".join(f"c{i}" for i in range(len(columns)))
            sets = ", ".join(f"{quote.quote(c.name)} = v.c{i}" for i, c in enumerate(columns))
            # As for inserts: every name comes from the schema, never from input.
            inserts.append(
                f"u{index} AS (UPDATE {quote.format_table(updates.table)} AS t SET {sets} "  # noqa: S608
                f"FROM unnest({', '.join(arrays)}) AS v (k, g, {aliases}) "
                f"WHERE t.{quote.quote(key.name)} = v.k AND t.{quote.quote(guard.name)} = v.g)"
            )
            changes.append(
                (self._processor(key), self._processor(guard), tuple(map(self._processor, columns)))
            )
        if batch.channels:
            main = f"SELECT pg_notify(channel, '') FROM unnest(${number + 1}::TEXT[]) AS channel"  # noqa: S608
        else:
            main = "SELECT NULL"
        sql = f"WITH {', '.join(inserts)} {main}" if inserts else main
        return _Shape(await connection.prepare(sql), tuple(groups), tuple(changes))

    def _processor(self, column: Column[Any]) -> Processor:
        """A column's bind processor on the engine's dialect."""
        return column.type.dialect_impl(self._dialect).bind_processor(self._dialect)

    def _array_type(self, column: Column[Any]) -> str:
        """The PostgreSQL array type of a column, without a length: a cast must not truncate text."""
        name = column.type.compile(dialect=self._dialect)
        return re.sub(r"\(.*?\)", "", name) + "[]"

    async def _rollback(self, connection: asyncpg.Connection) -> None:
        """Roll back an open transaction; a connection that cannot is dropped."""
        try:
            async with asyncio.timeout(1.0):
                await connection.execute("ROLLBACK")
        except Exception:
            self._drop()

    def _drop(self) -> None:
        """Forget the connection (closing its socket at once) and its prepared statements."""
        connection, self._connection = self._connection, None
        self._shapes.clear()
        if connection is not None:
            connection.terminate()

    async def close(self) -> None:
        """Close the connection politely, or drop it when the server does not answer."""
        connection, self._connection = self._connection, None
        self._shapes.clear()
        if connection is not None:
            await close_connection(connection)


def _column(table: Table, name: str) -> Column[Any]:
    """A column of the table by name; an unknown name is refused as SQLAlchemy would."""
    column = table.c.get(name)
    if column is None:
        raise exc.CompileError(f"Unconsumed column names: {name}")
    return column


def _bound(process: Processor, values: Iterable[Any]) -> list[Any]:
    """One column's values, each through the column's bind processor if it has one."""
    return list(values) if process is None else [process(value) for value in values]


def _begin_and_lock(locks: list[tuple[int, int]]) -> str:
    """BEGIN and the advisory locks, in one simple-protocol round trip (integers only, formatted)."""
    taken = "; ".join(
        f"SELECT pg_advisory_xact_lock(({int(s)})::integer, ({int(k)})::integer)" for s, k in locks
    )
    return f"BEGIN; {taken}"


_BREAKING = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)
"""Errors that leave the connection unusable: lost, interrupted mid-conversation, or confused.

asyncpg's client-side errors include the protocol's confusion after the server ended the session
on its own (`InternalClientError`); only a value refused before sending (`DataError`) is harmless.
"""


def _broken(error: BaseException) -> bool:
    """Whether an error leaves the connection unusable (the server's own error answers do not)."""
    if isinstance(error, asyncio.CancelledError):
        return True  # interrupted mid-conversation
    return isinstance(error, _BREAKING) and not isinstance(error, asyncpg.exceptions._base.DataError)


def _translate(error: Exception, statement: str | None) -> exc.DBAPIError:
    """The SQLAlchemy error the same failure raises on the SQLAlchemy path (callers catch those)."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    if sqlstate.startswith("23"):
        return exc.IntegrityError(statement, None, error)
    return exc.DBAPIError(statement, None, error)
