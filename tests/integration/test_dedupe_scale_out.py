"""Idempotency across processes on one PostgreSQL database: one execution per key, whichever gets it."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore
from tests._workflows import chain
from tests.integration._live_server import LiveServer, hookline_env, import_workflow, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KEYS = 150
"""Idempotency keys per workflow; each is sent to both servers at the same moment."""
COPIES = 2
"""Requests per key and server."""


def workflows() -> list[dict[str, Any]]:
    """An asynchronous and a synchronous workflow deduplicating on `Idempotency-Key`, answering with `n`."""
    answer = {
        "headers": [{"name": "X-N", "value": "{{$context.body.n}}"}],
        "body": {"n": "{{$context.body.n}}"},
    }
    queued = chain(("crash-work", {"seconds": 0.001}), key="dedupe-async")
    queued["config"] = {"response": {"statusCode": 202, **answer}}
    work, respond = ("crash-work", {"seconds": 0.01}), ("response", {"statusCode": 201, **answer})
    ran = chain(work, respond, sync=True, key="dedupe-sync")
    dedupe = {"dedupe": {"source": "headers.idempotency-key"}}
    return [{**queued, "options": dedupe}, {**ran, "options": dedupe}]


async def send(servers: list[LiveServer], key: str) -> dict[str, list[httpx.Response]]:
    """Send each idempotency key COPIES times to every server at once (20 keys at a time); answers by key."""
    answers: dict[str, list[httpx.Response]] = {}
    gate = asyncio.Semaphore(20)
    async with httpx.AsyncClient(timeout=60) as client:

        async def one_key(index: int) -> None:
            idempotency = f"event-{index}"
            calls = [
                client.post(
                    f"{server.url}/api/webhook:trigger/{key}",
                    json={"n": f"{index}-{server.port}-{copy}"},
                    headers={"Idempotency-Key": idempotency},
                )
                for server in servers
                for copy in range(COPIES)
            ]
            async with gate:
                answers[idempotency] = list(await asyncio.gather(*calls))

        await asyncio.gather(*(one_key(index) for index in range(KEYS)))
    return answers


async def test_two_servers_run_each_idempotency_key_once(
    tmp_path: Path, postgres_url: str, postgres_store: SqlStore
) -> None:
    """The same keys reaching two servers at once make one execution each; every duplicate gets its answer."""
    env = hookline_env(tmp_path / "data", HOOKLINE_DATABASE_URL=postgres_url, HOOKLINE_ADMIN_TOKEN="t")
    run_cli(env, "migrate")
    keys = [import_workflow(env, workflow, tmp_path) for workflow in workflows()]
    servers = [LiveServer(env, tmp_path / f"serve{i}.log") for i in range(2)]
    try:
        await asyncio.gather(*(server.start() for server in servers))
        sent = {key: await send(servers, key) for key in keys}
    finally:
        for server in servers:
            server.stop()
    for key, (status, per_key) in zip(keys, ((202, sent[keys[0]]), (201, sent[keys[1]])), strict=True):
        executions = await postgres_store.list_executions(ExecutionFilter(workflow_key=key, limit=KEYS * 10))
        by_event = Counter(e.event_key.split(":")[1] for e in executions)
        assert len(executions) == KEYS, f"{key}: {len(executions)} executions for {KEYS} keys"
        assert set(by_event.values()) == {1}
        for idempotency, answers in per_key.items():
            seen = {(a.status_code, a.content, a.headers["x-hookline-execution"]) for a in answers}
            assert len(seen) == 1, f"{key} {idempotency}: different answers {seen}"
            [(code, _, execution_id)] = seen
            assert code == status
            assert sum("x-hookline-duplicate" in a.headers for a in answers) == len(answers) - 1
            assert by_event[idempotency] == 1
            assert int(execution_id) in {e.id for e in executions}
    print(f"\ndedupe scale-out: {len(keys)} workflows, {KEYS} keys each, {2 * COPIES} requests per key")
