"""Per-workflow limits across real processes on one PostgreSQL database: they hold for all of them."""

from __future__ import annotations

import asyncio
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
from tests.integration._live_server import CRASH_PLUGIN, LiveServer, hookline_env, import_workflow, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LIMIT_PLUGIN = "tests.integration._limit_plugin"
LIMITED_RUNS = 40
FREE_RUNS = 10
"""The limited runs that do not wait for the gate."""


def environment(tmp_path: Path, postgres_url: str) -> dict[str, str]:
    """The processes' environment: the database, both test plugins, and workers that look for work often."""
    env = hookline_env(
        tmp_path / "data",
        HOOKLINE_DATABASE_URL=postgres_url,
        HOOKLINE_ADMIN_TOKEN="t",
        # Idle workers ask again every 20 ms: a second worker keeps competing for the key.
        HOOKLINE_POLL_SECONDS="0.02",
        HOOKLINE_SHUTDOWN_GRACE_SECONDS="1",
    )
    env["HOOKLINE_PLUGINS"] = f"{CRASH_PLUGIN},{LIMIT_PLUGIN}"
    run_cli(env, "migrate")
    return env


def begun(log: Path, count: int) -> bool:
    """Whether the overlap log shows at least `count` runs begun."""
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(line.startswith("begin ") for line in lines) >= count


def most_in_flight(log: Path) -> int:
    """The most runs the overlap log shows begun and not yet ended at one time."""
    in_flight = most = 0
    for line in log.read_text().splitlines():
        in_flight += 1 if line.startswith("begin ") else -1
        most = max(most, in_flight)
    return most


async def post_all(urls: list[str], keys: list[str], numbers: range) -> list[int]:
    """POST `{"n": n}` for each number to each key, spread over the servers, all at once; the statuses."""
    async with httpx.AsyncClient(timeout=30) as client:
        calls = [
            client.post(f"{urls[n % len(urls)]}/api/webhook:trigger/{key}", json={"n": n})
            for n in numbers
            for key in keys
        ]
        return [answer.status_code for answer in await asyncio.gather(*calls)]


async def test_concurrency_one_holds_across_two_worker_processes(tmp_path: Path, postgres_url: str) -> None:
    """Two worker processes never run two executions of a concurrency-1 workflow at once; others run on.

    Worker A runs the first ten, then holds the workflow's one place with a run that waits for a
    gate. Worker B starts and keeps asking for work while A shuts down: B may take the run over
    only once A has let it go. Then the gate opens and B runs the rest. The overlap log (written
    by the node in both processes) must never show two runs at once.
    """
    env = environment(tmp_path, postgres_url)
    log, gate = tmp_path / "overlap.log", tmp_path / "gate"
    node = {"log": str(log), "gate": str(gate), "free": FREE_RUNS}
    key = import_workflow(
        env, {**chain(("limit-overlap", node), key="one-at-a-time"), "options": {"concurrency": 1}}, tmp_path
    )
    other = import_workflow(env, chain(("crash-work", {"seconds": 0.05}), key="other"), tmp_path)
    accepting = LiveServer(env, tmp_path / "serve.log", ("serve", "--no-worker"))
    first, second = (
        LiveServer(env, tmp_path / f"worker-{n}.log", ("worker", "--workers", "4")) for n in "ab"
    )
    try:
        await asyncio.gather(accepting.start(), first.start())
        # The ungated runs first, so that they are the oldest: the first ten to be claimed.
        statuses = await post_all([accepting.url], [key, other], range(FREE_RUNS))
        statuses += await post_all([accepting.url], [key, other], range(FREE_RUNS, LIMITED_RUNS))
        assert statuses == [200] * (2 * LIMITED_RUNS)
        await wait_until(
            lambda: asyncio.to_thread(begun, log, FREE_RUNS + 1), "worker A holds the place with a gated run"
        )
        await second.start()
        first.stop()  # its gated run is stopped after the grace and handed over
        await wait_until(
            lambda: asyncio.to_thread(begun, log, FREE_RUNS + 2), "worker B resumes the gated run"
        )
        gate.touch()
        opened = await open_store(postgres_url, migrate=False)
        try:
            await wait_until(lambda: nothing_runnable(opened), "every execution finished", within=120)
            done = await opened.list_executions(ExecutionFilter(limit=4 * LIMITED_RUNS))
        finally:
            await opened.close()
    finally:
        for process in (accepting, first, second):
            process.stop()
    assert Counter((e.key, e.status) for e in done) == {
        (key, ExecutionStatus.RESOLVED): LIMITED_RUNS,
        (other, ExecutionStatus.RESOLVED): LIMITED_RUNS,
    }
    begins = [line.split() for line in log.read_text().splitlines() if line.startswith("begin ")]
    by_process = Counter(pid for _, _, pid in begins)
    print(f"\nconcurrency 1: {len(begins)} runs, by worker process: {dict(by_process)}")
    assert len(begins) == LIMITED_RUNS + 1  # the gated run began twice: in A, then resumed in B
    assert len(by_process) == 2
    assert most_in_flight(log) == 1


async def test_queue_limit_holds_across_two_accepting_processes(tmp_path: Path, postgres_url: str) -> None:
    """Requests racing into two servers for a workflow with queueLimit 10 get exactly 10 accepted."""
    env = environment(tmp_path, postgres_url)
    key = import_workflow(
        env, {**chain(("crash-work", {}), key="bounded"), "options": {"queueLimit": 10}}, tmp_path
    )
    servers = [LiveServer(env, tmp_path / f"serve{i}.log", ("serve", "--no-worker")) for i in range(2)]
    try:
        await asyncio.gather(*(s.start() for s in servers))
        statuses = await post_all([s.url for s in servers], [key], range(60))
        opened = await open_store(postgres_url, migrate=False)
        try:
            queued = await opened.list_executions(ExecutionFilter(workflow_key=key, limit=100))
        finally:
            await opened.close()
    finally:
        for server in servers:
            server.stop()
    assert Counter(statuses) == {200: 10, 429: 50}
    assert [e.status for e in queued] == [ExecutionStatus.QUEUED] * 10
