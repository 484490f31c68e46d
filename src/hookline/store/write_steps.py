"""The steps a write is made of: what the store asks the writer to commit together.

A write is a few steps (`Writer.write(*steps)`); all of them commit in one transaction or none
does. The plain ones (`Insert`, `Update`, `Lock`, `Notify`, `Sync`) let the writer merge the
writes of a batch and run them on a fast path; an `Action` runs statements itself.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import Table, bindparam, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.store._sqlite_prepared import PreparedStatement

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
