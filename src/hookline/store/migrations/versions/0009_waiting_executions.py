"""Executions that wait: the `waiting` status joins the runnable indexes.

A node may suspend an asynchronous execution until a time (a delay, a retry's back-off): the row is
`waiting`, without a claim, with `run_after` set, and any process claims it once that has passed.
The two claim indexes cover every unfinished row, so their condition now names `waiting` too; the
claim statements repeat it word for word, as SQLite's partial-index matching requires.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from hookline.store._migration_steps import recreate_claim_indexes

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = "status IN ('queued', 'started')"
_AFTER = "status IN ('queued', 'started', 'waiting')"


def upgrade() -> None:
    """Widen both claim indexes to waiting rows."""
    recreate_claim_indexes(_AFTER)


def downgrade() -> None:
    """Narrow them again; a waiting row left behind would never be claimed, so make it runnable now."""
    op.execute("UPDATE executions SET status = 'started', run_after = NULL WHERE status = 'waiting'")
    recreate_claim_indexes(_BEFORE)
