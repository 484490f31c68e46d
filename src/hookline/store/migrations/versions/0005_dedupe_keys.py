"""Idempotency: the `dedupe_keys` table of the workflows' `options.dedupe`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table and the index the janitor deletes expired keys by."""
    op.create_table(
        "dedupe_keys",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("execution_id", sa.BigInteger(), nullable=False),
        sa.Column("response", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_dedupe_keys"),
    )
    op.create_index("ix_dedupe_keys_expires_at", "dedupe_keys", ["expires_at"])


def downgrade() -> None:
    """Drop the table (and its index with it)."""
    op.drop_table("dedupe_keys")
