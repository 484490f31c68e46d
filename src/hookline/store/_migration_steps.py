"""Schema changes that more than one migration makes, written once (the migrations stay a few lines)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def recreate_claim_indexes(runnable: str, sqlite_runnable: str | None = None) -> None:
    """Drop and create both claim indexes over the executions whose status matches `runnable` (SQL),
    or `sqlite_runnable` on SQLite when it differs."""
    for name in ("ix_executions_runnable", "ix_executions_limited"):
        op.drop_index(name, table_name="executions")
    on_sqlite = sqlite_runnable or runnable
    op.create_index(
        "ix_executions_runnable",
        "executions",
        ["id"],
        postgresql_where=sa.text(f"{runnable} AND concurrency IS NULL"),
        sqlite_where=sa.text(f"{on_sqlite} AND concurrency IS NULL"),
    )
    op.create_index(
        "ix_executions_limited",
        "executions",
        ["key", sa.text("status DESC"), "id"],
        postgresql_where=sa.text(f"{runnable} AND concurrency IS NOT NULL"),
        sqlite_where=sa.text(f"{on_sqlite} AND concurrency IS NOT NULL"),
    )
