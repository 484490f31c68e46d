"""Crash tests: a live `hookline serve` is SIGKILLed and restarted on the same SQLite file.

The contract: docs/reference/execution.md#resuming-after-a-crash.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hookline.models import ExecutionStatus
from hookline.store.sql_store import SqlStore
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration import _crash_load as load
from tests.integration._live_server import LiveServer, hookline_env, import_workflow

pytestmark = pytest.mark.slow


async def test_sigkill_loses_no_accepted_request(tmp_path: Path, live_store: SqlStore) -> None:
    """A server killed under load still runs every accepted request once, and no node twice."""
    env = hookline_env(tmp_path / "data", HOOKLINE_LEASE_SECONDS=load.LEASE_SECONDS)
    work = ("crash-work", {"seconds": 0.02})
    key = import_workflow(env, chain(work, work, work, key="crash-load"), tmp_path)
    async with LiveServer(env, tmp_path / "server.log") as server:
        await server.start()
        volley = await load.send_and_kill(
            server,
            key,
            concurrency=50,
            kill_after=150,
            kill_when=lambda: load.some_execution_running(live_store),
        )
        await server.start()
        executions, jobs = await load.left_after(volley, live_store)

        assert volley.cut_off, "the kill came too late to cut any request off"
        load.assert_every_accepted_resolved(volley, executions)
        load.assert_each_ran_once(executions, jobs)


async def test_sigkill_loses_no_request_answered_after_running_before_its_answer(
    tmp_path: Path, live_store: SqlStore
) -> None:
    """With HOOKLINE_RUN_BEFORE_ANSWER, each request answered 2xx before a kill is recorded finished once."""
    env = hookline_env(tmp_path / "data", HOOKLINE_RUN_BEFORE_ANSWER="true")
    key = import_workflow(env, chain(load.PURE_STEP, load.PURE_STEP, key="crash-pure"), tmp_path)

    async with LiveServer(env, tmp_path / "server.log") as server:
        await server.start()
        volley = await load.send_and_kill(server, key, concurrency=50, kill_after=300, kill_when=load.at_once)
        await server.start()
        executions, _ = await load.left_after(volley, live_store)
    assert volley.cut_off, "the kill came too late to cut any request off"
    await load.assert_each_recorded_finished_once(volley, executions, live_store)


async def test_execution_interrupted_between_nodes_resumes_after_its_last_job(
    tmp_path: Path, live_store: SqlStore
) -> None:
    """After a SIGKILL at the third node, the restarted server runs the third and fourth only."""
    env = hookline_env(tmp_path / "data", HOOKLINE_LEASE_SECONDS=load.LEASE_SECONDS)
    log, marker = tmp_path / "nodes.log", tmp_path / "marker"
    append, block = ("crash-append", {"log": str(log)}), ("crash-block", {"marker": str(marker)})
    key = import_workflow(env, chain(append, append, block, append, key="crash-steps"), tmp_path)
    async with LiveServer(env, tmp_path / "server.log") as server:
        await server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
            response = await client.post(f"/api/webhook:trigger/{key}", json={"tag": "t1"})
        assert response.status_code == 200
        execution_id = int(response.headers["x-hookline-execution"])

        async def first_two_recorded() -> bool:
            return {j.node_key for j in await live_store.list_jobs(execution_id)} == {"n0", "n1"}

        await wait_until(first_two_recorded, "jobs n0 and n1 are recorded")
        server.kill()
        marker.touch()
        await server.start()

        async def finished() -> bool:
            execution = await live_store.get_execution(execution_id)
            return execution is not None and execution.status.is_final

        await wait_until(finished, "the execution has finished")
        execution = await live_store.get_execution(execution_id)
        assert execution is not None
        assert (execution.status, execution.attempt) == (ExecutionStatus.RESOLVED, 2)
        assert log.read_text().splitlines() == ["n0 t1", "n1 t1", "n3 t1"]
        assert [j.node_key for j in await live_store.list_jobs(execution_id)] == ["n0", "n1", "n2", "n3"]
