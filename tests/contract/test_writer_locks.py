"""The writer's advisory locks (`Lock` steps), on SQLite (moot) and PostgreSQL (taken first, sorted, once)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from hookline.store.sql_store import SqlStore
from hookline.store.write_steps import Lock, Sync


def statement(sql: str) -> Sync:
    """A step that runs one statement and returns its first column."""

    def run(connection: Connection) -> Any:
        return connection.execute(text(sql)).scalar()

    return Sync(run)


async def test_a_batch_takes_its_locks_first_sorted_and_once(backend: str, store: SqlStore) -> None:
    """Locks of all writes of a batch come before their other steps, each once, in ascending order."""
    seen: list[str] = []

    @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        seen.append("lock" + str(tuple(parameters)) if "advisory" in sql else sql.split()[0])

    writes = [
        store.writer.write(Lock(2, 1), statement("SELECT 1")),
        store.writer.write(Lock(1, 5), Lock(2, 1), statement("SELECT 2")),
        store.writer.write(Lock(1, -7), statement("SELECT 3")),
    ]
    assert await asyncio.gather(*writes) == [1, 2, 3]
    event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    if backend == "sqlite":
        assert not [s for s in seen if s.startswith("lock")]  # one writer: nothing to lock
        return
    assert store.writer.transactions == 1
    assert seen[:3] == ["lock(1, -7)", "lock(1, 5)", "lock(2, 1)"]
    assert seen[3:] == ["SELECT"] * 3
