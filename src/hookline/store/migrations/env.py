"""Alembic's environment: runs the migrations on the connection that `migrate.py` hands over."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from hookline.store.database import create_engine
from hookline.store.schema import metadata


def run_on(connection: Connection) -> None:
    """Run the pending migrations on a synchronous view of an async connection."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    """Open an engine from `sqlalchemy.url` (for the `alembic` command line), migrate, close."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def _main() -> None:
    """Use the connection given in the config's attributes, else the configured URL."""
    connection = context.config.attributes.get("connection")
    url = context.config.get_main_option("sqlalchemy.url") or ""
    if connection is not None:
        run_on(connection)
    elif context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_with_own_engine(url))


_main()
