"""A batch of writes as one transaction runs it: inserts merged, locks first, notifications last.

The writer runs the plan on its SQLAlchemy connection, or hands it to a fast path in that path's
own terms (`sqlite_operations`, `postgres_batch`) when the batch holds only steps the path runs
(`fits_sqlite`, `fits_postgres`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.store._pending_write import PendingWrite
from hookline.store._pg_writer import PgBatch, PgUpdates
from hookline.store._sqlite_writer import Call, Operation, Rows
from hookline.store.write_steps import Action, Insert, Lock, Notify, Step, Sync, Update


@dataclass(slots=True)
class PlannedCall:
    """An action in a batch plan, with the index of the write whose result it gives."""

    index: int
    action: Sync | Update | Action


@dataclass(slots=True)
class InsertGroup:
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


Planned: TypeAlias = InsertGroup | PlannedCall | Notify | Lock
"""One part of a batch plan."""


def plan(batch: list[PendingWrite]) -> list[Planned]:
    """The batch as merged insert groups and actions, keeping every write's own order.

    The locks come first, each once and sorted (see `Lock`); the notifications come last, each
    channel once: PostgreSQL delivers them at COMMIT anyway.
    """
    locks = sorted({step for write in batch for step in write.steps if isinstance(step, Lock)})
    planned: list[Planned] = [*locks]
    group: InsertGroup | None = None
    for index, write in enumerate(batch):
        for part in _parts(write.steps):
            if isinstance(part, list):
                if group is None or not group.accepts(part):
                    group = InsertGroup()
                    planned.append(group)
                group.add(part)
            else:
                group = None
                planned.append(PlannedCall(index, part))
    notes = {step.channel: step for write in batch for step in write.steps if isinstance(step, Notify)}
    return planned + list(notes.values())


def _parts(steps: tuple[Step, ...]) -> Iterator[list[Insert] | Sync | Update | Action]:
    """Consecutive non-empty inserts as one list, each action alone; notifications and locks are left out."""
    inserts: list[Insert] = []
    for step in steps:
        if isinstance(step, Notify | Lock):
            continue  # plan takes the locks first and sends the notifications last, each once
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


_SQLITE_STEPS = (Insert, Update, Sync, Lock)
"""The steps the SQLite fast path runs (a lock is moot there: its one writer excludes the others)."""


def fits_sqlite(batch: list[PendingWrite]) -> bool:
    """Whether the SQLite fast path can run this batch: only inserts, updates, synchronous steps and locks."""
    return all(type(step) in _SQLITE_STEPS for write in batch for step in write.steps)


_POSTGRES_STEPS = (Insert, Update, Lock, Notify)
"""The steps the PostgreSQL fast path runs; anything else (claims, checks, `Sync`) keeps SQLAlchemy."""


def fits_postgres(batch: list[PendingWrite]) -> bool:
    """Whether the PostgreSQL fast path can run this batch: only inserts, updates, locks and notifications."""
    return all(type(step) in _POSTGRES_STEPS for write in batch for step in write.steps)


def sqlite_operations(batch: list[PendingWrite]) -> list[Operation]:
    """The plan of a batch that `fits_sqlite`, as the SQLite fast path's operations."""
    operations: list[Operation] = []
    for step in plan(batch):
        if isinstance(step, InsertGroup):
            operations += step.operations()
        elif isinstance(step, PlannedCall) and isinstance(step.action, Sync):
            operations.append(Call(step.index, step.action.action))
        elif isinstance(step, PlannedCall) and isinstance(step.action, Update):
            operations.append(Call(step.index, step.action.run))
    return operations


def postgres_batch(batch: list[PendingWrite]) -> PgBatch:
    """The plan of a batch that `fits_postgres`, as the PostgreSQL fast path's one statement.

    The updates of one shape (table, guard, columns) merge into one `PgUpdates`.
    """
    work = PgBatch()
    updates: dict[tuple[Table, str, tuple[str, ...]], PgUpdates] = {}
    for step in plan(batch):
        if isinstance(step, InsertGroup):
            work.inserts += [(table, step.rows[table.name]) for table in step.tables]
        elif isinstance(step, PlannedCall) and isinstance(step.action, Update):
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
    return work
