"""The PostgreSQL server the tests may use: named by HOOKLINE_TEST_POSTGRES_URL, or the tests skip.

Set HOOKLINE_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to include
PostgreSQL. Tests then create their own uniquely named databases on that server and drop them
afterwards, so concurrent runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_ENV = "HOOKLINE_TEST_POSTGRES_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
"""The databases a test parametrised over them runs on (PostgreSQL skips without a server)."""


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
