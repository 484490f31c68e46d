"""Rate limits: the `rate_counts` table where processes sum what `options.rateLimit` admitted.

On PostgreSQL the table is UNLOGGED: its writes skip the WAL (and the commits that only touch it
wait for no flush); after a crash it comes back empty, and it is not copied to replicas. Losing
counts only lets the current windows start over.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table (unlogged on PostgreSQL) and the index the janitor deletes old windows by."""
    unlogged = ["UNLOGGED"] if op.get_context().dialect.name == "postgresql" else []
    op.create_table(
        "rate_counts",
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="pk_rate_counts"),
        prefixes=unlogged,
    )
    op.create_index("ix_rate_counts_window_start", "rate_counts", ["window_start"])


def downgrade() -> None:
    """Drop the table (and its index with it)."""
    op.drop_table("rate_counts")
