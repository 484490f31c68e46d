"""Scale-out on PostgreSQL: several `serve --no-worker` and `worker` processes share one database."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import httpx
import pytest

from hookline.models import ExecutionStatus
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import open_store
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration._executions import nothing_runnable
from tests.integration._live_server import LiveServer, hookline_env, import_workflow, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REQUESTS = 4000
NODES = 3


async def test_two_servers_and_two_workers_run_each_accepted_request_exactly_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """Requests spread over two accepting servers run once each on two workers: no loss, no rerun."""
    env = hookline_env(tmp_path / "data", HOOKLINE_DATABASE_URL=postgres_url, HOOKLINE_ADMIN_TOKEN="t")
    run_cli(env, "migrate")
    key = import_workflow(env, chain(*[("crash-work", {"seconds": 0.001})] * NODES, key="spread"), tmp_path)
    servers = [LiveServer(env, tmp_path / f"serve{i}.log", ("serve", "--no-worker")) for i in range(2)]
    workers = [LiveServer(env, tmp_path / f"worker{i}.log", ("worker", "--workers", "8")) for i in range(2)]
    processes = [*servers, *workers]
    try:
        await asyncio.gather(*(p.start() for p in processes))
        accepted = await _send(servers, key)
        opened = await open_store(postgres_url, migrate=False)
        try:
            await wait_until(lambda: nothing_runnable(opened), "every execution finished", within=120)
            executions = await opened.list_executions(ExecutionFilter(limit=REQUESTS * 2))
            jobs_per_node: Counter[tuple[int, str]] = Counter()
            for execution in executions:
                for job in await opened.list_jobs(execution.id):
                    jobs_per_node[(execution.id, job.node_key)] += 1
        finally:
            await opened.close()
    finally:
        for process in processes:
            process.stop()
    print(f"\nscale-out: {REQUESTS} sent, {len(accepted)} accepted, {len(executions)} executions")
    assert len(accepted) == REQUESTS
    assert {e.id for e in executions} == accepted
    assert {e.status for e in executions} == {ExecutionStatus.RESOLVED}
    assert len(jobs_per_node) == REQUESTS * NODES
    assert set(jobs_per_node.values()) == {1}, "a node ran twice for some execution"


async def _send(servers: list[LiveServer], key: str) -> set[int]:
    """POST the requests, spread at random over the servers, 50 at a time; the accepted ids."""
    accepted: set[int] = set()
    gate = asyncio.Semaphore(50)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(n: int) -> None:
            server = random.choice(servers)
            async with gate:
                response = await client.post(f"{server.url}/api/webhook:trigger/{key}", json={"n": n})
            assert response.status_code == 200, response.text
            accepted.add(int(response.headers["x-hookline-execution"]))

        await asyncio.gather(*(one(n) for n in range(REQUESTS)))
    return accepted
