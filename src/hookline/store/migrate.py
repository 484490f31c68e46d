"""Schema migrations: bring a database to the newest revision, or say which revision it is at."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hookline.store.database import WRITE_OPTIONS, is_unavailable, unavailable

SCRIPT_LOCATION = "hookline.store:migrations"
"""Where the migration scripts live, as a package resource."""

# Any fixed number: PostgreSQL serialises concurrent `upgrade` calls on this advisory lock.
_MIGRATION_LOCK = 7_346_221_905


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code (no alembic.ini), optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every migration the database does not have yet, in one transaction.

    Raises `StorageUnavailable` when the database cannot be reached.
    """
    try:
        await _upgrade(engine)
    except Exception as error:
        if is_unavailable(error):
            raise unavailable(error) from error
        raise


async def _upgrade(engine: AsyncEngine) -> None:
    """The upgrade itself, under PostgreSQL's advisory lock so concurrent starts take turns."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(**WRITE_OPTIONS)
        async with connection.begin():
            if engine.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _MIGRATION_LOCK}
                )
            await connection.run_sync(_upgrade_to_head)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


def head_revision() -> str:
    """The newest revision this version of hookline ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("hookline ships no migrations")  # a packaging bug, not a user error
    return head


def _upgrade_to_head(connection: Connection) -> None:
    """Alembic's upgrade on a synchronous view of the async connection."""
    command.upgrade(alembic_config(connection), "head")


def _current_revision(connection: Connection) -> str | None:
    """Read the alembic_version table."""
    return MigrationContext.configure(connection).get_current_revision()
