"""Fixtures that run the real ASGI app on a temporary SQLite file and talk HTTP to it."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from starlette.types import ASGIApp

from hookline.api.app import create_app
from hookline.cli import main
from hookline.exchange import flow_from_json
from hookline.runtime import Runtime
from hookline.settings import Settings
from hookline.store.sql_store import SqlStore, open_store
from tests._databases import BACKENDS, fresh_postgres_database
from tests.integration._admin import authorize

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

Invoke = Callable[..., Result]
"""The `run` fixture: `hookline …` with these arguments (and `input=` for stdin), its click Result."""


def example(name: str) -> dict[str, Any]:
    """A fresh copy of one of the example workflows as JSON."""
    return copy.deepcopy(json.loads((EXAMPLES / name).read_text()))


class Server:
    """The app running in-process, with its runtime and an HTTP client bound to it."""

    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, app: ASGIApp) -> None:
        self.client = client
        self.runtime = runtime
        self.app = app
        """The ASGI app itself, for what an HTTP client cannot do (such as leave mid-request)."""

    async def load(self, workflow: dict[str, Any]) -> str:
        """Import a workflow (docs/reference/workflow-json.md) and return its key."""
        flow = flow_from_json(workflow)
        await self.runtime.store.add_flow(flow)
        self.runtime.flows.forget()
        return flow.workflow.key

    async def post(self, key: str, **kwargs: Any) -> httpx.Response:
        """POST to the webhook URL of a key."""
        return await self.client.post(f"/api/webhook:trigger/{key}", **kwargs)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    """A running app on a fresh SQLite file, with workers that never wait long for work."""
    async with _serve(tmp_path, {}) as running:
        yield running


@pytest.fixture
def api(server: Server) -> Server:
    """The running server, its client sending the admin token."""
    return authorize(server)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run `hookline …` in-process on the SQLite file in tmp_path (the one the `server` fixture uses)."""
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HOOKLINE_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def make_server(tmp_path: Path) -> Callable[..., Any]:
    """Start a server with settings overridden (e.g. body_limit=100)."""
    return lambda **overrides: _serve(tmp_path, overrides)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (dropped afterwards), or a skip without a server."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def postgres_store(postgres_url: str) -> AsyncIterator[SqlStore]:
    """A store on the `postgres_url` database, migrated: tests read what live servers wrote."""
    opened = await open_store(postgres_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def live_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A reader on the SQLite file of a test's live servers (`tmp_path/data`), made by its first import."""
    opened = await open_store(f"sqlite:///{tmp_path / 'data' / 'hookline.db'}", migrate=False)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Server settings for each database under test: none for SQLite, a fresh migrated PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    with fresh_postgres_database() as url:
        asyncio.run(_migrate(url))
        yield {"database_url": url}


async def _migrate(url: str) -> None:
    """Bring a new database to the current schema (a server on PostgreSQL does not migrate it)."""
    await (await open_store(url)).close()


class _serve:
    """Async context manager: the app's lifespan plus an httpx client through ASGI."""

    def __init__(self, tmp_path: Path, overrides: dict[str, Any]) -> None:
        base = Settings(data_dir=tmp_path, poll_seconds=0.05, lease_seconds=5.0)
        self.settings = base.with_overrides(**overrides)
        self.app = create_app(self.settings)

    async def __aenter__(self) -> Server:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://hookline.test")
        return Server(self._client, self.app.state.runtime, self.app)

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        await self._lifespan.__aexit__(None, None, None)
