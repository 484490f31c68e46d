"""Let an execution wait before its next attempt: the nullable `run_after` timestamp.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `executions.run_after` (NULL: claimable as soon as it is runnable)."""
    op.add_column("executions", sa.Column("run_after", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop that column."""
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("run_after")
