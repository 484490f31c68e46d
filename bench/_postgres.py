"""The PostgreSQL side of bench/run.py: a fresh database per run, and which server processes are its.

The benchmark uses the machine's PostgreSQL server as it is (it cannot pin it to a core). Each run
creates a uniquely named database through the admin URL and drops it afterwards, so runs never see
each other's rows and nothing is left behind, even when a run fails.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""Where databases are created and dropped (HOOKLINE_BENCH_POSTGRES_URL or --postgres-url override it)."""

DATABASE_PREFIX = "hookline_bench_"

AUXILIARY_PROCESSES = (
    "checkpointer",
    "background writer",
    "walwriter",
    "autovacuum launcher",
    "logical replication launcher",
    "archiver",
    "stats collector",
)
"""Server-wide PostgreSQL processes: during a PostgreSQL run they work (WAL, checkpoints) for it."""

SETTINGS = ("synchronous_commit", "fsync", "wal_sync_method", "shared_buffers", "max_connections")
"""The server settings the report prints (they decide what a commit costs)."""


class PostgresError(Exception):
    """The PostgreSQL server cannot be reached or refuses to create a database."""


def database_url(admin_url: str, name: str) -> str:
    """The admin URL pointed at another database (the form hookline's HOOKLINE_DATABASE_URL takes)."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def describe(admin_url: str) -> str:
    """The server's version and commit settings, as one line; PostgresError when unreachable."""
    return _run(admin_url, _describe(admin_url))


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """Create an empty, uniquely named database; give its name; drop it (forcing out connections)."""
    name = f"{DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    _run(admin_url, _execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        _run(admin_url, _execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def works_for(cmdline: bytes, database: str) -> bool:
    """Whether a `postgres` process works for this database: its backends and the auxiliaries.

    PostgreSQL retitles its processes: a backend reads `postgres: 15/main: user db 127.0.0.1(5432) idle`,
    an auxiliary `postgres: 15/main: walwriter`. The postmaster keeps its real command line.
    """
    title = cmdline.replace(b"\0", b" ").decode(errors="replace")
    if not title.startswith("postgres: "):
        return False
    return f" {database} " in f"{title} " or title.rstrip().endswith(AUXILIARY_PROCESSES)


def _run(admin_url: str, coroutine: Coroutine[None, None, str | None]) -> str:
    """Run one admin coroutine to completion; its errors become PostgresError."""
    try:
        return asyncio.run(coroutine) or ""
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        where = make_url(admin_url).render_as_string(hide_password=True)
        raise PostgresError(f"PostgreSQL at {where}: {error}") from error


async def _connect(admin_url: str) -> asyncpg.Connection:
    plain = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(plain, timeout=10)


async def _execute(admin_url: str, statement: str) -> None:
    connection = await _connect(admin_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _describe(admin_url: str) -> str:
    connection = await _connect(admin_url)
    try:
        version = await connection.fetchval("SHOW server_version")
        values = [f"{name}={await connection.fetchval(f'SHOW {name}')}" for name in SETTINGS]
    finally:
        await connection.close()
    return f"PostgreSQL {version} (the machine's server, not pinned; {' '.join(values)})"
