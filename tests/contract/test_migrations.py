"""Migrations, on SQLite and PostgreSQL: applying them all gives exactly the schema in schema.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hookline.store.database import create_engine
from hookline.store.migrate import current_revision, head_revision, upgrade
from hookline.store.schema import metadata


@pytest.fixture
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a new, empty database."""
    created = create_engine(fresh_database_url)
    yield created
    await created.dispose()


async def differences(engine: AsyncEngine, target: MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match `target`."""

    def compare(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), target))

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


async def test_upgraded_database_matches_the_schema(engine: AsyncEngine) -> None:
    """After upgrading an empty database, autogenerate finds nothing to change."""
    await upgrade(engine)
    assert await differences(engine, metadata) == []


async def test_comparison_notices_a_schema_the_migrations_lack(engine: AsyncEngine) -> None:
    """The comparison is not blind: a table missing from the migrations shows up as a difference."""
    await upgrade(engine)
    extended = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extended)
    Table("extra", extended, Column("name", String(10), primary_key=True))
    changes = await differences(engine, extended)
    assert [change[0] for change in changes] == ["add_table"]


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    """Upgrading twice leaves the database at the head revision with the same schema."""
    assert await current_revision(engine) is None
    await upgrade(engine)
    await upgrade(engine)
    assert await current_revision(engine) == head_revision() == "0010"
    assert await differences(engine, metadata) == []
