"""A live `hookline serve` per test module and database (SQLite, and PostgreSQL when named).

Set HOOKLINE_TEST_POSTGRES_URL to include PostgreSQL, as for the contract and integration tests.
Each server holds the workflows of `_workflows.py`, imported with the CLI before it starts, and
runs with short read timeouts so that the slow-client cases take a second, not half a minute.
A module may set `SERVER_SETTINGS` (more `HOOKLINE_*` variables) for its own server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookline.api.auth import TOKEN_FILE
from tests._databases import BACKENDS, fresh_postgres_database
from tests.hostile._health import HealthWatch
from tests.hostile._raw import RawAnswer, exchange
from tests.hostile._workflows import import_workflows
from tests.integration._live_server import LiveServer, hookline_env, run_cli

SERVER_SETTINGS = {
    "HOOKLINE_HEADER_TIMEOUT_SECONDS": "1",
    "HOOKLINE_BODY_TIMEOUT_SECONDS": "1",
    "HOOKLINE_POLL_SECONDS": "0.1",
}
"""What every hostile-input server runs with, besides the defaults under test."""


@dataclass(frozen=True, slots=True)
class Hostile:
    """A live server under attack, and how the tests reach it."""

    server: LiveServer
    backend: str
    """`sqlite` or `postgres`."""
    data_dir: Path

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self.server.port

    async def send(self, sent: bytes, *, within: float = 30.0, pace: float | None = None) -> RawAnswer:
        """Send raw request bytes on a new connection and read the answer (see `_raw.exchange`)."""
        return await exchange(self.port, sent, within=within, pace=pace)

    def admin(self) -> httpx.AsyncClient:
        """An admin API client with the token the server saved in its data folder.

        No kept-alive connections: the server closes idle ones after its (short) header timeout.
        """
        token = (self.data_dir / TOKEN_FILE).read_text().strip()
        return httpx.AsyncClient(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
            limits=httpx.Limits(max_keepalive_connections=0),
        )


@pytest.fixture(scope="module", params=BACKENDS)
def hostile(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """A `hookline serve` holding the suite's workflows, on each database, shared by a module's tests."""
    backend = str(request.param)
    settings = {**SERVER_SETTINGS, **getattr(request.module, "SERVER_SETTINGS", {})}
    root = tmp_path_factory.mktemp(f"hostile-{backend}")
    data = root / "data"  # hookline creates it, so that the test of its permissions means something
    with _database(backend) as database:
        env = hookline_env(data, **settings, **database)
        if database:
            run_cli(env, "migrate")  # a server on PostgreSQL does not migrate its database
        import_workflows(env, root)
        server = LiveServer(env, root / "serve.log")
        try:
            _run_in_thread(server.start())
            yield Hostile(server, backend, data)
        finally:
            server.stop()


class Figures:
    """What a test measured, kept as properties of its report (`--junitxml`) for before/after tables."""

    # For example: pytest tests/hostile -o junit_family=xunit1 --junitxml=hostile.xml

    def __init__(self, record: Callable[[str, object], None]) -> None:
        self._record = record

    def answers(self, answers: Sequence[RawAnswer]) -> None:
        """The statuses and codes of the answers, with the longest time to answer."""
        counts = Counter(f"{answer.status} {answer.error_code or ''}".strip() for answer in answers)
        slowest = max((answer.seconds for answer in answers), default=0.0)
        summary = ", ".join(f"{what} x{count}" for what, count in sorted(counts.items()))
        self._record("answers", f"{summary}; slowest {slowest:.3f} s")

    @contextlib.asynccontextmanager
    async def watch_healthz(self, port: int) -> AsyncIterator[HealthWatch]:
        """Watch `/healthz` while the block runs; its longest wait is noted even when the block fails."""
        watch = HealthWatch(port)
        try:
            async with watch:
                yield watch
        finally:
            self._record("healthz_max_seconds", f"{watch.worst:.3f}")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """Where a test notes its answers and `/healthz` waits (see `Figures`).

    They go to the test's `user_properties` directly rather than through `record_property`,
    which warns (an error here) under the default junit family: `-o junit_family=xunit1
    --junitxml=…` writes them out.
    """
    return Figures(lambda name, value: request.node.user_properties.append((name, value)))


@contextlib.contextmanager
def _database(backend: str) -> Iterator[dict[str, str]]:
    """The server's database settings: none for SQLite, a fresh PostgreSQL database (dropped after)."""
    if backend == "sqlite":
        yield {}
        return
    with fresh_postgres_database() as url:
        yield {"HOOKLINE_DATABASE_URL": url}


def _run_in_thread(work: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to its end on a loop of its own (pytest-asyncio may be running one here)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()
