"""Schema changes that more than one migration makes, written once (the migrations stay a few lines)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def recreate_claim_indexes(runnable: str) -> None:
    """Drop and create both claim indexes over the executions whose status matches `runnable` (SQL)."""
    for name in ("ix_executions_runnable", "ix_executions_limited"):
        op.drop_index(name, table_name="executions")
    plain = sa.text(f"{runnable} AND concurrency IS NULL")
    op.create_index(
        "ix_executions_runnable", "executions", ["id"], postgresql_where=plain, sqlite_where=plain
    )
    limited = sa.text(f"{runnable} AND concurrency IS NOT NULL")
    op.create_index(
        "ix_executions_limited",
        "executions",
        ["key", sa.text("status DESC"), "id"],
        postgresql_where=limited,
        sqlite_where=limited,
    )
