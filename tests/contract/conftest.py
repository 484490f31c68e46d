"""Fixtures that run every contract test on SQLite and, when a server is named, on PostgreSQL.

Set HOOKLINE_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to include
PostgreSQL. The session then creates its own uniquely named databases on that server and drops
them at the end, so concurrent runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from hookline.store.sql_store import SqlStore, open_store

POSTGRES_ENV = "HOOKLINE_TEST_POSTGRES_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


class PostgresServer:
    """Creates and drops throw-away databases on the test server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.created: list[str] = []

    def new_database(self) -> str:
        """Create an empty, uniquely named database; returns its URL."""
        name = f"hookline_test_{os.getpid()}_{secrets.token_hex(4)}"
        asyncio.run(self._execute(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this session created."""
        for name in self.created:
            asyncio.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def _execute(self, sql: str) -> None:
        """Run one statement on the server's maintenance database."""
        plain = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(plain)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


def postgres_url_or_skip() -> str:
    """The PostgreSQL server URL the environment names, or a skip saying how to name one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set; set it to a PostgreSQL server URL to run these tests")
    return url


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new database on the server the environment names (dropped afterwards), or a skip."""
    server = PostgresServer(postgres_url_or_skip())
    try:
        yield server.new_database()
    finally:
        server.drop_all()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server named by the environment, or a skip saying how to enable it."""
    server = PostgresServer(postgres_url_or_skip())
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_session_url(postgres_server: PostgresServer) -> str:
    """One database shared by the store tests of this session (tables are emptied per test)."""
    return postgres_server.new_database()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the database under test."""
    return str(request.param)


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/fresh/hookline.db"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the `store` fixture keeps its data: a file per test, or the session's PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/hookline.db"
    return str(request.getfixturevalue("postgres_session_url"))


@pytest.fixture
async def store(backend: str, store_url: str) -> AsyncIterator[SqlStore]:
    """A migrated, empty store on the backend under test."""
    opened = await open_store(store_url)
    if backend == "postgres":
        await _empty(opened)
    yield opened
    await opened.close()


async def _empty(store: SqlStore) -> None:
    """Remove every row a previous test left behind."""
    async with store.engine.begin() as connection:
        tables = "workflows, nodes, executions, jobs, dedupe_keys, rate_counts, captures, files, file_chunks"
        await connection.exec_driver_sql(f"TRUNCATE {tables} CASCADE")


@pytest.fixture
async def second_store(store: SqlStore, store_url: str) -> AsyncIterator[SqlStore]:
    """Another store on the same database: its own writer and connections, as another process has."""
    opened = await open_store(store_url, migrate=False)
    yield opened
    await opened.close()
