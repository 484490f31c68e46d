"""The initial schema: workflows, nodes, executions and jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUNNABLE = sa.text("status IN ('queued', 'started')")


def _json() -> sa.types.TypeEngine[Any]:
    """JSONB on PostgreSQL, JSON text elsewhere (frozen here, not imported from schema.py)."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp(name: str, *, nullable: bool) -> sa.Column[Any]:
    """A timezone-aware timestamp column."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the four tables and their indexes."""
    _create_workflows()
    _create_nodes()
    _create_executions()
    _create_jobs()


def downgrade() -> None:
    """Drop everything, children first."""
    for table in ("jobs", "executions", "nodes", "workflows"):
        op.drop_table(table)


def _create_workflows() -> None:
    """Workflow versions; at most one current version per key."""
    op.create_table(
        "workflows",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("sync", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=True),
        sa.Column("config", _json(), nullable=False),
        sa.Column("options", _json(), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflows"),
    )
    op.create_index("uq_workflows_key_current", "workflows", ["key", "current"], unique=True)


def _create_nodes() -> None:
    """The nodes of each workflow version."""
    op.create_table(
        "nodes",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("config", _json(), nullable=False),
        sa.Column("upstream_id", sa.BigInteger(), nullable=True),
        sa.Column("downstream_id", sa.BigInteger(), nullable=True),
        sa.Column("branch_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workflow_id"], ["workflows.id"], name="fk_nodes_workflow_id_workflows", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_nodes"),
    )
    op.create_index("ix_nodes_workflow_id", "nodes", ["workflow_id"])


def _create_executions() -> None:
    """Executions, which are also the queue of asynchronous runs."""
    op.create_table(
        "executions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("context", _json(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("output", _json(), nullable=True),
        sa.Column("response", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        _timestamp("claim_expires_at", nullable=True),
        _timestamp("created_at", nullable=False),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["workflow_id"], ["workflows.id"], name="fk_executions_workflow_id_workflows"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
        sa.UniqueConstraint("event_key", name="uq_executions_event_key"),
    )
    op.create_index("ix_executions_status_id", "executions", ["status", "id"])
    op.create_index("ix_executions_key_id", "executions", ["key", "id"])
    op.create_index(
        "ix_executions_runnable", "executions", ["id"], postgresql_where=_RUNNABLE, sqlite_where=_RUNNABLE
    )


def _create_jobs() -> None:
    """The record of each node run."""
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("execution_id", sa.BigInteger(), nullable=False),
        sa.Column("node_id", sa.BigInteger(), nullable=False),
        sa.Column("node_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("result", _json(), nullable=True),
        sa.Column("meta", _json(), nullable=False),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name="fk_jobs_execution_id_executions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_execution_id", "jobs", ["execution_id"])
