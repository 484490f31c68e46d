"""SQLite reads the claim indexes in order for every claim statement: no status searches, no sort.

A claim that searched the status index for each runnable status and sorted the rows would cost as
much as the whole backlog, on every claim: correct, so only the plan shows it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import ClauseElement

from hookline.store import _queue
from hookline.store.sql_store import open_store

STATEMENTS: dict[str, tuple[ClauseElement, str]] = {
    "plain claim": (_queue._plain_claim(False).statement, "ix_executions_runnable"),
    "key claim": (_queue._key_claim(False).statement, "ix_executions_limited"),
    "any limited": (_queue._ANY_LIMITED.statement, "ix_executions_limited"),
    "limited keys": (_queue._LIMITED_KEYS.statement, "ix_executions_limited"),
    "key state": (_queue._KEY_STATE.statement, "ix_executions_limited"),
}


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    """An SQLite file with hookline's schema, as its migrations make it."""
    path = tmp_path / "hookline.db"
    store = await open_store(f"sqlite:///{path}")
    await store.close()
    return path


@pytest.mark.parametrize("name", STATEMENTS)
def test_a_claim_reads_its_index_in_order(database: Path, name: str) -> None:
    """The plan names the claim index, and neither searches the status index nor sorts."""
    statement, index = STATEMENTS[name]
    sql = str(statement.compile(dialect=sqlite.dialect()))
    with sqlite3.connect(database) as connection:
        steps = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?"))]
    assert any(index in step for step in steps), steps
    assert not any("ix_executions_status_id" in step or "TEMP B-TREE" in step for step in steps), steps
