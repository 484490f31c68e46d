"""Files of multipart webhook bodies: the `files` table (one row per file) and `file_chunks` (its bytes).

A file's row comes first, without an execution but with the id its request's execution will have
(`planned_execution_id`); its bytes follow in chunks of 256 KiB, and the row is attached to its
execution once that is recorded. Both foreign keys cascade, so deleting an execution deletes its
files and their bytes. The janitor attaches the rows whose execution was recorded by a process that
died before attaching them, and deletes those whose execution never was.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create both tables, the index by execution and the janitor's index of unattached files."""
    op.create_table(
        "files",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("execution_id", sa.BigInteger(), nullable=True),
        sa.Column("planned_execution_id", sa.BigInteger(), nullable=True),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_files_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_execution_id", "files", ["execution_id"])
    unattached = sa.text("execution_id IS NULL")
    op.create_index(
        "ix_files_created_at_unattached",
        "files",
        ["created_at"],
        postgresql_where=unattached,
        sqlite_where=unattached,
    )
    op.create_table(
        "file_chunks",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name="fk_file_chunks_file_id_files", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("file_id", "position", name="pk_file_chunks"),
    )


def downgrade() -> None:
    """Drop both tables (their indexes go with them)."""
    op.drop_table("file_chunks")
    op.drop_table("files")
