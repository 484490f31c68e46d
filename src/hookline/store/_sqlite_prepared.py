"""Statements of the queue's hot path, compiled once and run straight on `sqlite3` when they can.

Each claim and each finish of an asynchronous execution is one UPDATE (and each claim one SELECT
for the keys with a concurrency limit). Through a SQLAlchemy
`Connection` most of their cost was SQLAlchemy's own (execution context, parameter and result
processing: 30 to 100 µs against a few µs of SQLite). On the writer's SQLite thread these
statements run on the raw `sqlite3` connection instead, with the SQL SQLAlchemy compiled for them
and SQLAlchemy's own bind and result processors for their types, so what is stored and what is
read back are the same. On any other connection (PostgreSQL, an in-memory SQLite database) they
go through SQLAlchemy as usual.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import Dialect, Select, exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any]

Statement: TypeAlias = UpdateBase | Select[Any]
"""What a prepared statement holds: DML (with RETURNING when rows are fetched) or a SELECT."""

_REQUIRED: Any = object()
"""The default of a parameter the caller must give."""


class PreparedStatement:
    """A DML or SELECT statement with bound parameters, run on `sqlite3` directly where possible."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[int, frozenset[str]], _Compiled] = {}

    def fetch(self, connection: Connection, parameters: Mapping[str, Any]) -> Sequence[Mapping[Any, Any]]:
        """Run it and return its rows (RETURNING, or selected) as mappings (column name → value)."""
        raw = _sqlite_connection(connection)
        if raw is None:
            return connection.execute(self.statement, parameters).mappings().all()
        compiled = self._compile(connection.dialect, parameters)
        rows = compiled.execute(raw, parameters).fetchall()
        return [compiled.decode(row) for row in rows]

    def run(self, connection: Connection, parameters: Mapping[str, Any]) -> int:
        """Run it; how many rows it touched."""
        raw = _sqlite_connection(connection)
        if raw is None:
            return int(connection.execute(self.statement, parameters).rowcount)
        return int(self._compile(connection.dialect, parameters).execute(raw, parameters).rowcount)

    def _compile(self, dialect: Dialect, parameters: Mapping[str, Any]) -> _Compiled:
        """The statement compiled for these parameter names (they may name the columns to SET)."""
        key = (id(dialect), frozenset(parameters))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _compile(self.statement, dialect, list(parameters))
        return compiled


@dataclass(frozen=True, slots=True)
class _Compiled:
    """The SQL of one compilation, its parameters in order and the processors of its columns."""

    sql: str
    names: tuple[str, ...]
    defaults: tuple[Any, ...]
    """The value of each parameter that the caller does not give (a literal in the statement)."""
    binds: tuple[Processor | None, ...]
    columns: tuple[str, ...]
    results: tuple[Processor | None, ...]

    def execute(self, raw: sqlite3.Connection, parameters: Mapping[str, Any]) -> sqlite3.Cursor:
        """Execute on the raw connection; driver errors become SQLAlchemy's, as elsewhere."""
        values = [
            parameters.get(name, default) for name, default in zip(self.names, self.defaults, strict=True)
        ]
        if any(value is _REQUIRED for value in values):
            missing = [name for name, value in zip(self.names, values, strict=True) if value is _REQUIRED]
            raise exc.StatementError(f"a value is required for {missing}", self.sql, None, None)
        try:
            encoded = tuple(
                value if bind is None else bind(value) for value, bind in zip(values, self.binds, strict=True)
            )
        except Exception as error:
            raise exc.StatementError(f"cannot bind a value: {error!r}", self.sql, None, error) from error
        try:
            return raw.execute(self.sql, encoded)
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(self.sql, encoded, error, sqlite3.Error) from error

    def decode(self, row: Sequence[Any]) -> dict[str, Any]:
        """One result row as SQLAlchemy would give it, by column name."""
        return {
            name: value if result is None else result(value)
            for name, value, result in zip(self.columns, row, self.results, strict=True)
        }


def _compile(statement: Statement, dialect: Dialect, keys: list[str]) -> _Compiled:
    """Compile once; a statement that needs per-run rendering (expanding IN) is refused."""
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[name] for name in names]
    if any(bind.expanding or bind.callable is not None for bind in binds):
        raise ValueError("a prepared statement takes plain parameters: no expanding IN, no callable values")
    returning = list(statement.exported_columns)
    return _Compiled(
        sql=compiled.string,
        names=names,
        defaults=tuple(_REQUIRED if bind.required else bind.value for bind in binds),
        binds=tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds),
        columns=tuple(str(column.key) for column in returning),
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returning
        ),
    )


def _sqlite_connection(connection: Connection) -> sqlite3.Connection | None:
    """The stdlib `sqlite3` connection under a SQLAlchemy connection, or None (another driver)."""
    raw = connection.connection.driver_connection
    return raw if isinstance(raw, sqlite3.Connection) else None
