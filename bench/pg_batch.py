"""What one group-commit batch of queued executions costs on PostgreSQL: hookline's writer vs raw asyncpg.

The async webhook path ends in one write per request: the execution row plus a NOTIFY, committed
by the writer together with the writes of the other requests waiting meanwhile (a batch). This
script commits `--batches` batches of `--size` such writes, one batch at a time on an otherwise
idle event loop, three ways, and prints the wall time and the CPU time of this process per batch:

  writer     hookline's Writer (SQLAlchemy's async engine on asyncpg): BEGIN, one executemany,
             SELECT pg_notify(…), COMMIT, each a round trip driven through SQLAlchemy.
  asyncpg    the same four round trips on a bare asyncpg connection, rows passed as tuples.
  unnest     one statement on a bare asyncpg connection: INSERT … SELECT FROM unnest($1::bigint[], …)
             with the NOTIFY in the same statement, committed on its own (one round trip).

    taskset -c 0 .venv/bin/python bench/pg_batch.py            # 300 batches of 16, each way, twice

It uses a fresh database on the server of --postgres-url (as run.py does) and drops it afterwards.
PostgreSQL's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from _postgres import DEFAULT_ADMIN_URL, database_url, fresh_database

from hookline.store.notify import EXECUTIONS_CHANNEL
from hookline.store.schema import executions
from hookline.store.sql_store import open_store
from hookline.store.write_steps import Insert, Notify

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = {
    "headers": {"host": "127.0.0.1:8000", "content-type": "application/json", "x-request-id": None},
    "query": {},
    "body": {"order": {"id": 42, "status": "paid"}},
}
RESPONSE = {"statusCode": 202, "headers": {"x-order": "42"}, "body": {"accepted": True, "order": "42"}}
COLUMN_TYPES = {
    "id": "bigint", "workflow_id": "bigint", "key": "text", "event_key": "text", "context": "jsonb",
    "status": "text", "output": "jsonb", "response": "jsonb", "error": "text", "attempt": "int",
    "claimed_by": "text", "claim_expires_at": "timestamptz", "created_at": "timestamptz",
    "started_at": "timestamptz", "finished_at": "timestamptz",
}  # fmt: skip
"""The executions columns a queued execution fills, with their PostgreSQL types (for unnest)."""

_ids = itertools.count(1)


def execution_row(workflow_id: int) -> dict[str, Any]:
    """A queued execution's row, as the dispatcher builds it for the benchmark request."""
    return {
        "id": next(_ids), "workflow_id": workflow_id, "key": "orders-paid-async",
        "event_key": uuid.uuid4().hex, "context": CONTEXT, "status": "queued", "output": None,
        "response": RESPONSE, "error": None, "attempt": 0, "claimed_by": None, "claim_expires_at": None,
        "created_at": datetime.datetime.now(datetime.UTC), "started_at": None, "finished_at": None,
    }  # fmt: skip


async def timed(name: str, batches: int, size: int, one_batch: Callable[[], Awaitable[None]]) -> None:
    """Run `batches` batches one after the other and print the median wall time and the CPU per batch."""
    walls: list[float] = []
    cpu = time.process_time()
    for _ in range(batches):
        start = time.perf_counter()
        await one_batch()
        walls.append(time.perf_counter() - start)
    used = (time.process_time() - cpu) / batches
    print(
        f"{name:8} wall {1000 * statistics.median(walls):5.2f} ms per batch (median)   "
        f"CPU {1e6 * used:5.0f} µs per batch, {1e6 * used / size:4.0f} µs per write"
    )


async def compare(url: str, batches: int, size: int, rounds: int) -> None:
    """The three ways, `rounds` times in turn."""
    store = await open_store(url, migrate=False)
    connection = await asyncpg.connect(url)
    try:
        codec = {"encoder": lambda v: orjson.dumps(v).decode(), "decoder": orjson.loads}
        await connection.set_type_codec("jsonb", schema="pg_catalog", **codec)
        workflow_id = int(await connection.fetchval("SELECT id FROM workflows LIMIT 1"))
        columns = ", ".join(COLUMN_TYPES)
        values = ", ".join(f"${n}" for n in range(1, len(COLUMN_TYPES) + 1))
        # The statements are built from the constant column list above, never from input.
        insert = f"INSERT INTO executions ({columns}) VALUES ({values})"  # noqa: S608
        arrays = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(COLUMN_TYPES.values(), 1))
        unnest = await connection.prepare(
            f"WITH added AS (INSERT INTO executions ({columns}) SELECT * FROM unnest({arrays})) "  # noqa: S608
            f"SELECT pg_notify('{EXECUTIONS_CHANNEL}', '')"
        )

        async def writer() -> None:
            notify = Notify(EXECUTIONS_CHANNEL)
            rows = [execution_row(workflow_id) for _ in range(size)]
            await asyncio.gather(*(store.writer.write(Insert(executions, [row]), notify) for row in rows))

        async def raw() -> None:
            rows = [tuple(execution_row(workflow_id).values()) for _ in range(size)]
            async with connection.transaction():
                await connection.executemany(insert, rows)
                await connection.execute(f"SELECT pg_notify('{EXECUTIONS_CHANNEL}', '')")

        async def single() -> None:
            rows = [tuple(execution_row(workflow_id).values()) for _ in range(size)]
            await unnest.fetch(*(list(column) for column in zip(*rows, strict=True)))

        for _ in range(rounds):
            await timed("writer", batches, size, writer)
            await timed("asyncpg", batches, size, raw)
            await timed("unnest", batches, size, single)
    finally:
        await connection.close()
        await store.close()


def main() -> None:
    """Parse the options, prepare a fresh database, compare."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batches", type=int, default=300, help="batches per way and round (default 300)")
    parser.add_argument("--size", type=int, default=16, help="writes per batch (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="times the three ways run in turn")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("HOOKLINE_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="hookline-pg-batch-") as data,
        fresh_database(args.postgres_url) as name,
    ):
        url = database_url(args.postgres_url, name)
        env = {**os.environ, "HOOKLINE_DATABASE_URL": url, "HOOKLINE_DATA_DIR": data}
        example = str(ROOT / "examples" / "order-paid-async.json")
        for command in (["migrate"], ["workflow", "import", example]):
            subprocess.run(
                [sys.executable, "-m", "hookline", *command], env=env, check=True, capture_output=True
            )
        import uvloop

        uvloop.run(compare(url, args.batches, args.size, args.rounds))


if __name__ == "__main__":
    main()
