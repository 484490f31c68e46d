"""Fixtures that run every contract test on SQLite and, when a server is named, on PostgreSQL.

Set HOOKLINE_TEST_POSTGRES_URL to include PostgreSQL (see `tests/_databases.py`): the session
creates its own databases on that server and drops them at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hookline.models import Flow
from hookline.store.sql_store import SqlStore, open_store
from tests._databases import BACKENDS, PostgresServer, postgres_url_or_skip
from tests._factories import make_flow


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


@pytest.fixture
async def flow(store: SqlStore) -> Flow:
    """An enabled flow (`make_flow()`, key `orders`) already stored."""
    stored = make_flow()
    await store.add_flow(stored)
    return stored
