"""The claim indexes' condition written as `status = … OR …` rather than `status IN (…)`.

SQLite checks every partial index's condition on each insert and update of an execution; with
three statuses (since 0009 added `waiting`) an `IN` list builds a temporary table for each check,
about 3.4 µs per insert with the two claim indexes. Equalities joined by OR cost what two values
did. On SQLite the column is written `+status`, so that the claims (which repeat the condition in
the same form, `schema.is_one_of`, as partial-index matching requires) read the claim index in
order instead of searching the status index three times and sorting.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from hookline.store._migration_steps import recreate_claim_indexes

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = "status IN ('queued', 'started', 'waiting')"
_AFTER = "(status = 'queued' OR status = 'started' OR status = 'waiting')"
_AFTER_ON_SQLITE = "(+status = 'queued' OR +status = 'started' OR +status = 'waiting')"


def upgrade() -> None:
    """Write both claim indexes' condition as equalities joined by OR (`+status` on SQLite)."""
    recreate_claim_indexes(_AFTER, _AFTER_ON_SQLITE)


def downgrade() -> None:
    """Back to the IN list of 0009."""
    recreate_claim_indexes(_BEFORE)
