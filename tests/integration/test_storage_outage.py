"""When the database cannot commit, the webhook answers 503 — never a 200 for an unrecorded event."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hookline.store.execution_history import ExecutionFilter
from tests.integration.conftest import Server, example


@contextmanager
def database_locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the SQLite file, as a stuck writer in another process would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def test_async_request_answers_503_while_the_database_cannot_commit(
    server: Server, tmp_path: Path
) -> None:
    """An async request that cannot be recorded answers 503; once the lock is gone, 200 again."""
    key = await server.load(example("order-paid-async.json"))
    body = {"order": {"id": 1, "status": "paid"}}
    assert (await server.post(key, json=body)).status_code == 202  # the workflow is cached now
    await server.runtime.workers.drain()

    with database_locked(tmp_path / "hookline.db"):
        refused = await server.post(key, json=body)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "storage_unavailable"
    assert "x-hookline-execution" not in refused.headers

    accepted = await server.post(key, json=body)
    assert accepted.status_code == 202
    await server.runtime.workers.drain()
    executions = await server.runtime.store.list_executions(ExecutionFilter(limit=10))
    assert len(executions) == 2
    assert {e.status for e in executions} == {"resolved"}


async def test_sync_request_answers_503_when_its_execution_cannot_be_recorded(
    server: Server, tmp_path: Path
) -> None:
    """A synchronous run whose record cannot be committed answers 503, not its Response node."""
    key = await server.load(example("order-paid.json"))
    auth = ("shop", "s3cret")
    body = {"order": {"id": 1, "status": "paid"}}
    assert (await server.post(key, json=body, auth=auth)).status_code == 200

    with database_locked(tmp_path / "hookline.db"):
        refused = await server.post(key, json=body, auth=auth)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "storage_unavailable"
