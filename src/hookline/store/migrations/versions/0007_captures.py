"""Listen for a test request: the `captures` table where an armed capture waits for, and keeps, a request.

A row is armed (no `request` yet) until `expires_at`; the first request to its workflow key in
that time is stored in it instead of running. Any process can arm one and any other can fill it,
so the state lives here rather than in a process. The janitor deletes rows past `expires_at`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table, with the indexes a request's claim and the janitor look rows up by."""
    op.create_table(
        "captures",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.Column("armed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_captures"),
    )
    op.create_index("ix_captures_key_id", "captures", ["key", "id"])
    op.create_index("ix_captures_expires_at", "captures", ["expires_at"])


def downgrade() -> None:
    """Drop the table (and its indexes with it)."""
    op.drop_table("captures")
