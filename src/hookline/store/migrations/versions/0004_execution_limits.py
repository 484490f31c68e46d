"""Per-workflow limits: `concurrency` and `queue_limit` on executions, and the indexes that apply them.

The runnable index no longer holds rows with a concurrency limit; those get an index of their
own by key, and queued rows with a queue limit one by key for the count.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-19
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUNNABLE = "status IN ('queued', 'started')"


def _index(name: str, columns: list[str | sa.TextClause], where: str) -> None:
    """A partial index on executions, on both databases."""
    condition = sa.text(where)
    op.create_index(name, "executions", columns, postgresql_where=condition, sqlite_where=condition)


def upgrade() -> None:
    """Add the two columns, narrow the runnable index, and add the two indexes by key."""
    op.add_column("executions", sa.Column("concurrency", sa.Integer(), nullable=True))
    op.add_column("executions", sa.Column("queue_limit", sa.Integer(), nullable=True))
    op.drop_index("ix_executions_runnable", table_name="executions")
    _index("ix_executions_runnable", ["id"], f"{_RUNNABLE} AND concurrency IS NULL")
    _index(
        "ix_executions_limited",
        ["key", sa.text("status DESC"), "id"],
        f"{_RUNNABLE} AND concurrency IS NOT NULL",
    )
    _index("ix_executions_bounded", ["key"], "status = 'queued' AND queue_limit IS NOT NULL")


def downgrade() -> None:
    """Drop the new indexes and columns and restore the runnable index over every unfinished row."""
    op.drop_index("ix_executions_bounded", table_name="executions")
    op.drop_index("ix_executions_limited", table_name="executions")
    op.drop_index("ix_executions_runnable", table_name="executions")
    _index("ix_executions_runnable", ["id"], _RUNNABLE)
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("queue_limit")
        batch.drop_column("concurrency")
