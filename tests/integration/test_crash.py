"""Crash tests: a live `hookline serve` is SIGKILLed and restarted on the same SQLite file (SPEC §5.2)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookline.models import Execution, ExecutionStatus
from hookline.store.base import ExecutionFilter
from hookline.store.sql_store import SqlStore, open_store
from tests.integration._live_server import LiveServer, hookline_env, run_cli

pytestmark = pytest.mark.slow

LEASE_SECONDS = "2"


def chain(key: str, *nodes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """An enabled asynchronous workflow whose nodes `n0`, `n1`, … (type, config) form one chain."""
    return {
        "key": key,
        "title": key,
        "type": "webhook",
        "sync": False,
        "enabled": True,
        "config": {},
        "nodes": [
            {
                "key": f"n{i}",
                "type": kind,
                "upstream": f"n{i - 1}" if i else None,
                "branchIndex": None,
                "config": config,
            }
            for i, (kind, config) in enumerate(nodes)
        ],
    }


def import_workflow(env: dict[str, str], workflow: dict[str, Any], folder: Path) -> str:
    """Import a workflow through `hookline workflow import` and return its key."""
    path = folder / f"{workflow['key']}.json"
    path.write_text(json.dumps(workflow))
    run_cli(env, "workflow", "import", str(path))
    return str(workflow["key"])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A reader on the SQLite file the live servers of a test use (created by the first import)."""
    opened = await open_store(f"sqlite:///{tmp_path / 'data' / 'hookline.db'}", migrate=False)
    try:
        yield opened
    finally:
        await opened.close()


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30.0) -> None:
    """Poll `check` every 50 ms until it holds; fail naming `what` after `within` seconds."""
    try:
        async with asyncio.timeout(within):
            # The condition lives in a database another process writes: there is no event to await.
            while not await check():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"timed out after {within} s waiting until {what}")


async def nothing_runnable(store: SqlStore) -> bool:
    """True when no execution is queued or started."""
    for status in (ExecutionStatus.QUEUED, ExecutionStatus.STARTED):
        if await store.list_executions(ExecutionFilter(status=status, limit=1)):
            return False
    return True


@dataclass
class Volley:
    """What happened to a burst of requests: the accepted ones (by number) and the rest."""

    accepted: dict[int, int] = field(default_factory=dict)
    """Request number → the execution id its 2xx answer named."""
    refused: dict[int, int] = field(default_factory=dict)
    """Request number → a non-2xx status it was answered with."""
    cut_off: set[int] = field(default_factory=set)
    """Requests that got no answer at all."""


async def send_and_kill(
    server: LiveServer,
    key: str,
    *,
    concurrency: int,
    kill_after: int,
    kill_when: Callable[[], Awaitable[bool]],
    most: int = 3_000,
) -> Volley:
    """POST requests `{"n": i}` concurrently until the server is SIGKILLed, then return what happened.

    The kill comes once `kill_after` requests were answered and `kill_when()` holds (checked every
    10 ms), so it is not left to the machine's speed whether anything was running at that moment;
    requests keep coming until then (at most `most`), so some are always in flight when it lands.
    """
    volley = Volley()
    numbers = iter(range(most))
    killed = asyncio.Event()

    async def sender(client: httpx.AsyncClient) -> None:
        for n in numbers:
            if killed.is_set():
                return
            try:
                response = await client.post(f"/api/webhook:trigger/{key}", json={"n": n})
            except httpx.TransportError:
                volley.cut_off.add(n)
                continue
            if response.is_success:
                volley.accepted[n] = int(response.headers["x-hookline-execution"])
            else:
                volley.refused[n] = response.status_code

    async def killer() -> None:
        # The condition lives in a database another process writes: there is no event to await.
        while len(volley.accepted) + len(volley.refused) < kill_after or not await kill_when():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        server.kill()
        killed.set()

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.url, timeout=15.0, limits=limits) as client:
        kill = asyncio.create_task(killer())
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
        if not kill.done():
            kill.cancel()
            pytest.fail(f"sent all {most} requests before the kill condition held")
        await kill  # a failure while watching for the kill condition is the test's failure
    return volley


async def some_execution_running(store: SqlStore) -> bool:
    """True when an execution is started and has recorded at least one job (it is mid-workflow)."""
    for execution in await store.list_executions(ExecutionFilter(status=ExecutionStatus.STARTED, limit=20)):
        if await store.list_jobs(execution.id):
            return True
    return False


async def all_executions(store: SqlStore) -> list[Execution]:
    """Every execution in the database."""
    return await store.list_executions(ExecutionFilter(limit=1_000_000))


async def job_counts(store: SqlStore, executions: list[Execution]) -> dict[int, Counter[str]]:
    """How many jobs each execution recorded per node key."""
    return {e.id: Counter(job.node_key for job in await store.list_jobs(e.id)) for e in executions}


def figures(volley: Volley, executions: list[Execution], jobs: dict[int, Counter[str]]) -> str:
    """One line for the test log: what was sent, answered, cut off, found, resumed and duplicated."""
    per_request = Counter(e.context["body"]["n"] for e in executions)
    duplicates = sum(count - 1 for count in per_request.values())
    duplicates += sum(count - 1 for counts in jobs.values() for count in counts.values())
    sent = len(volley.accepted) + len(volley.refused) + len(volley.cut_off)
    resumed = sum(1 for e in executions if e.attempt > 1)
    return (
        f"requests sent {sent}, 2xx {len(volley.accepted)}, other answers {len(volley.refused)}, "
        f"cut off {len(volley.cut_off)}, executions {len(executions)}, "
        f"resumed after restart (attempt > 1) {resumed}, duplicates {duplicates}"
    )


async def test_sigkill_loses_no_accepted_request(tmp_path: Path, store: SqlStore) -> None:
    """A server killed under load still runs every accepted request once, and no node twice."""
    env = hookline_env(tmp_path / "data", HOOKLINE_LEASE_SECONDS=LEASE_SECONDS)
    work = ("crash-work", {"seconds": 0.02})
    key = import_workflow(env, chain("crash-load", work, work, work), tmp_path)
    async with LiveServer(env, tmp_path / "server.log") as server:
        await server.start()
        volley = await send_and_kill(
            server, key, concurrency=50, kill_after=150, kill_when=lambda: some_execution_running(store)
        )
        await server.start()
        # The backlog at the kill depends on the machine: 8 workers run ~100 of these per second.
        backlog = len(volley.accepted) + len(volley.cut_off)
        await wait_until(lambda: nothing_runnable(store), "every execution has finished", 30 + backlog / 50)
        executions = await all_executions(store)
        jobs = await job_counts(store, executions)
        print(f"\n{figures(volley, executions, jobs)}")

        assert volley.refused == {}, "a request was answered, but not with 2xx"
        assert volley.cut_off, "the kill came too late to cut any request off"
        assert any(e.attempt > 1 for e in executions), "no execution was running at the kill"
        per_request = Counter(e.context["body"]["n"] for e in executions)
        assert max(per_request.values()) == 1, "a request has two executions"
        by_id = {e.id: e for e in executions}
        for n, execution_id in volley.accepted.items():
            execution = by_id.get(execution_id)
            assert execution is not None, f"accepted request {n} has no execution"
            assert (execution.context["body"]["n"], execution.status) == (n, ExecutionStatus.RESOLVED)
        assert {e.status for e in executions} == {ExecutionStatus.RESOLVED}
        assert {e: c for e, c in jobs.items() if c != Counter(["n0", "n1", "n2"])} == {}


async def test_execution_interrupted_between_nodes_resumes_after_its_last_job(
    tmp_path: Path, store: SqlStore
) -> None:
    """After a SIGKILL at the third node, the restarted server runs the third and fourth only."""
    env = hookline_env(tmp_path / "data", HOOKLINE_LEASE_SECONDS=LEASE_SECONDS)
    log, marker = tmp_path / "nodes.log", tmp_path / "marker"
    append, block = ("crash-append", {"log": str(log)}), ("crash-block", {"marker": str(marker)})
    key = import_workflow(env, chain("crash-steps", append, append, block, append), tmp_path)
    async with LiveServer(env, tmp_path / "server.log") as server:
        await server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
            response = await client.post(f"/api/webhook:trigger/{key}", json={"tag": "t1"})
        assert response.status_code == 200
        execution_id = int(response.headers["x-hookline-execution"])

        async def first_two_recorded() -> bool:
            return {j.node_key for j in await store.list_jobs(execution_id)} == {"n0", "n1"}

        await wait_until(first_two_recorded, "jobs n0 and n1 are recorded")
        server.kill()
        marker.touch()
        await server.start()

        async def finished() -> bool:
            execution = await store.get_execution(execution_id)
            return execution is not None and execution.status.is_final

        await wait_until(finished, "the execution has finished")
        execution = await store.get_execution(execution_id)
        assert execution is not None
        assert (execution.status, execution.attempt) == (ExecutionStatus.RESOLVED, 2)
        assert log.read_text().splitlines() == ["n0 t1", "n1 t1", "n3 t1"]
        assert [j.node_key for j in await store.list_jobs(execution_id)] == ["n0", "n1", "n2", "n3"]
