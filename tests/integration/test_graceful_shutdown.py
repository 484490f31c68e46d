"""Graceful shutdown on PostgreSQL: one of two servers gets SIGTERM under load; nothing is lost or rerun."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from hookline.models import ExecutionStatus
from hookline.store.sql_store import SqlStore
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration._executions import all_executions, job_counts, nothing_runnable
from tests.integration._live_server import LiveServer, hookline_env, import_workflow
from tests.integration._load import SteadyLoad

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NODES = 3
NODE_SECONDS = 1.0
"""Each node's work: an execution takes three seconds, three times the grace period."""
GRACE_SECONDS = 1.0
LEASE_SECONDS = 300
"""Far longer than the test: interrupted executions can only finish in time if their claims are released."""
WORKERS = 16
EXIT_MARGIN = 15.0
"""What the process may take beyond its grace period: answering requests in flight, closing the store.

Generous for slow machines: `released >= 1` below is what shows the grace was kept, not waited out."""


async def test_sigterm_under_load_hands_running_executions_over_and_exits_0(
    tmp_path: Path, postgres_url: str, postgres_store: SqlStore
) -> None:
    """A server stopped under load exits 0 within its grace; the other one finishes its work at once."""
    store = postgres_store
    env = hookline_env(
        tmp_path / "data",
        HOOKLINE_DATABASE_URL=postgres_url,
        HOOKLINE_LEASE_SECONDS=str(LEASE_SECONDS),
        HOOKLINE_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
        HOOKLINE_WORKERS=str(WORKERS),
    )
    steps = [("crash-work", {"seconds": NODE_SECONDS})] * NODES
    key = import_workflow(env, chain(*steps, key="slow-steps"), tmp_path)
    leaving, staying = (LiveServer(env, tmp_path / f"{name}.log") for name in ("leaving", "staying"))
    async with leaving, staying:
        await leaving.start()
        await staying.start()
        load = SteadyLoad([leaving.url, staying.url], key, lambda n: {"n": n}, senders=4, pause=0.5)
        async with load:
            await load.wait_for(lambda o: len(o.accepted) >= 16, "16 requests were accepted")
            await wait_until(lambda: _has_fresh_claim(store, leaving.pid), "the leaving server starts one")
            load.targets.remove(leaving.url)  # as a load balancer would, once the server is going
            leaving.terminate()
            stopping = time.monotonic()
            exit_status = await leaving.wait_exit(GRACE_SECONDS + EXIT_MARGIN)
            took = time.monotonic() - stopping
            first_after = load.issued
            await load.wait_for(lambda o: sum(n >= first_after for n in o.accepted) >= 16, "16 more accepted")
        await wait_until(lambda: nothing_runnable(store), "every execution has finished", within=30)
        executions = await all_executions(store)
        jobs = await job_counts(store, executions)
        released = _released(leaving)
    resumed = [e.id for e in executions if e.attempt > 1]
    print(f"\nshutdown: {load}; exit {exit_status} after {took:.1f} s; released {released}")

    assert exit_status == 0
    for server in (leaving, staying):
        assert "Traceback" not in server.tail(lines=100_000), "a server logged a stack trace"
    assert load.outcomes.refused == {}, "a request was answered, but not with 2xx"
    assert load.outcomes.unanswered == {}, "a request in flight at the SIGTERM got no answer"
    assert released >= 1, "the leaving server released no interrupted execution"
    assert len(resumed) == released, "not every released execution was resumed once"
    by_id = {e.id: e for e in executions}
    for n, execution_id in load.outcomes.accepted.items():
        execution = by_id.get(execution_id)
        assert execution is not None, f"accepted request {n} has no execution"
        assert (execution.context["body"]["n"], execution.status) == (n, ExecutionStatus.RESOLVED)
    assert {e.status for e in executions} == {ExecutionStatus.RESOLVED}
    everything_once = Counter(f"n{i}" for i in range(NODES))
    assert {e: c for e, c in jobs.items() if c != everything_once} == {}, "a node ran twice, or never"


async def _has_fresh_claim(store: SqlStore, pid: int) -> bool:
    """Whether the server with this pid runs an execution that has not finished any node yet.

    Such an execution has most of its three seconds ahead of it, more than the grace period.
    """
    query = text(
        "SELECT count(*) FROM executions e WHERE e.status = 'started' AND e.claimed_by LIKE :worker "
        "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.execution_id = e.id)"
    )
    async with store.engine.connect() as connection:
        count = (await connection.execute(query, {"worker": f"%:{pid}:%"})).scalar_one()
    return bool(count)


def _released(server: LiveServer) -> int:
    """How many interrupted executions the server said it released at shutdown."""
    found = re.findall(r"released (\d+) interrupted executions", server.tail(lines=1000))
    return sum(int(count) for count in found)
