"""A floor for durable acceptance: the bare endpoint plus one committed SQLite row per request.

`bench/run.py --only bare,floor,async` compares it with the bare endpoint and with hookline. It is
the least an endpoint can do that answers only once the request is on disk: parse the JSON body,
insert it as one row (an integer key and the body's text, no index) into an SQLite file in WAL mode
with `synchronous=FULL` (hookline's settings), commit, answer. Commits are grouped as hookline
groups them: one writer thread commits every row that arrived while it committed the previous ones.
Whatever hookline does on top of this (authentication, the trigger context, the queue's columns and
indexes, the configured answer, running the workflows) is what its ratio measures.

    HOOKLINE_FLOOR_DB=/tmp/floor.db .venv/bin/python -m uvicorn floor_app:app --app-dir bench \
        --loop uvloop --http httptools --no-access-log --workers 1 --port 8000
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class GroupCommit:
    """Rows wait in a list; one task hands all of them to the writer thread per transaction."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, body TEXT)")
        self._pending: list[tuple[tuple[int, str], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._ids = itertools.count(1)
        self._task = asyncio.create_task(self._run())

    async def insert(self, body: str) -> None:
        """Return once a row holding `body` is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(((next(self._ids), body), future))
        self._wake.set()
        await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._commit, [row for row, _ in batch])
            except Exception as error:  # every waiting request learns of the failure
                for _, future in batch:
                    future.set_exception(error)
            else:
                for _, future in batch:
                    future.set_result(None)

    def _commit(self, rows: list[tuple[int, str]]) -> None:
        self._connection.execute("BEGIN IMMEDIATE")
        self._connection.executemany("INSERT INTO events (id, body) VALUES (?, ?)", rows)
        self._connection.execute("COMMIT")

    async def close(self) -> None:
        """Stop the writer task and close the file."""
        self._task.cancel()
        self._connection.close()


store: GroupCommit | None = None


async def webhook(request: Request) -> Response:
    """Parse the JSON body, commit it as one row, then answer like the bare endpoint."""
    raw = await request.body()
    body: Any = orjson.loads(raw)
    assert store is not None
    await store.insert(raw.decode())
    order = body.get("order") if isinstance(body, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    return Response(orjson.dumps({"ok": True, "id": order_id}), media_type="application/json")


async def healthz(request: Request) -> Response:
    """Answer that the server is up (the benchmark waits for this before loading it)."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Open the SQLite file ($HOOKLINE_FLOOR_DB, or a new temporary one) for the server's life."""
    global store
    path = os.environ.get("HOOKLINE_FLOOR_DB") or Path(tempfile.mkdtemp()) / "floor.db"
    store = GroupCommit(Path(path))
    try:
        yield
    finally:
        await store.close()


app = Starlette(
    routes=[
        Route("/api/webhook:trigger/{key}", webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ],
    lifespan=lifespan,
)
