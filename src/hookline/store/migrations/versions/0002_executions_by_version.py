"""Index executions by workflow version, for per-version counts, deletes and the janitor.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the (workflow_id, id) index on executions."""
    op.create_index("ix_executions_workflow_id_id", "executions", ["workflow_id", "id"])


def downgrade() -> None:
    """Drop that index."""
    op.drop_index("ix_executions_workflow_id_id", table_name="executions")
