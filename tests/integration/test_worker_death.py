"""Worker death on PostgreSQL: a worker SIGKILLed mid-run, another takes over once the lease ends."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from hookline.models import ExecutionStatus
from hookline.store.sql_store import SqlStore
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration._live_server import LiveServer, hookline_env, import_workflow

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_SECONDS = "2"
HELD = 6
"""Executions the first worker holds at its third node when it is killed (fewer than its workers)."""


async def test_a_killed_workers_executions_resume_elsewhere_after_the_lease(
    tmp_path: Path, postgres_url: str, postgres_store: SqlStore
) -> None:
    """A worker killed mid-run: the other worker resumes its executions; finished nodes never run again."""
    env = hookline_env(
        tmp_path / "data", HOOKLINE_DATABASE_URL=postgres_url, HOOKLINE_LEASE_SECONDS=LEASE_SECONDS
    )
    log, marker = tmp_path / "nodes.log", tmp_path / "marker"
    append, block = ("crash-append", {"log": str(log)}), ("crash-block", {"marker": str(marker)})
    key = import_workflow(env, chain(append, append, block, append, key="worker-death"), tmp_path)
    accepting = LiveServer(env, tmp_path / "serve.log", ("serve", "--no-worker"))
    doomed = LiveServer(env, tmp_path / "doomed.log", ("worker", "--workers", "8"))
    survivor = LiveServer(env, tmp_path / "survivor.log", ("worker", "--workers", "8"))
    try:
        await asyncio.gather(accepting.start(), doomed.start())
        held = await _queue(accepting, key)
        await wait_until(lambda: _at_the_block(postgres_store, held), f"the {HELD} executions reach node n2")
        assert await _claimed_by(postgres_store, held) == {doomed.pid}
        await survivor.start()  # idle: everything runnable is claimed by the doomed worker
        doomed.kill()
        marker.touch()
        await wait_until(lambda: _finished(postgres_store, held), "every execution has finished", within=60)
        assert await _claimed_by(postgres_store, held) == {survivor.pid}
    finally:
        for process in (accepting, doomed, survivor):
            process.stop()
    executions = [await postgres_store.get_execution(i) for i in held]
    assert {(e.status, e.attempt) for e in executions if e} == {(ExecutionStatus.RESOLVED, 2)}
    ran = Counter(log.read_text().splitlines())
    assert ran == Counter(f"{node} t{n}" for n in range(HELD) for node in ("n0", "n1", "n3"))
    for execution_id in held:
        jobs = [job.node_key for job in await postgres_store.list_jobs(execution_id)]
        assert jobs == ["n0", "n1", "n2", "n3"], "a finished node ran again, or a node never ran"


async def _queue(server: LiveServer, key: str) -> list[int]:
    """Queue HELD requests tagged t0, t1, …; their execution ids."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        answers = [
            await client.post(f"/api/webhook:trigger/{key}", json={"tag": f"t{n}"}) for n in range(HELD)
        ]
    assert [a.status_code for a in answers] == [200] * HELD
    return [int(a.headers["x-hookline-execution"]) for a in answers]


async def _at_the_block(store: SqlStore, held: list[int]) -> bool:
    """Whether every held execution has recorded n0 and n1 and waits in n2."""
    for execution_id in held:
        if {job.node_key for job in await store.list_jobs(execution_id)} != {"n0", "n1"}:
            return False
    return True


async def _finished(store: SqlStore, held: list[int]) -> bool:
    """Whether every held execution reached a final status."""
    executions = [await store.get_execution(i) for i in held]
    return all(e is not None and e.status.is_final for e in executions)


async def _claimed_by(store: SqlStore, held: list[int]) -> set[int]:
    """The process ids of the workers whose claim the held executions carry (claims name host:pid:…)."""
    query = text("SELECT claimed_by FROM executions WHERE id = ANY(:ids)")
    async with store.engine.connect() as connection:
        claims = (await connection.execute(query, {"ids": held})).scalars().all()
    return {int(claim.rsplit(":", 2)[1]) for claim in claims}
