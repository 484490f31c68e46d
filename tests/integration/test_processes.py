"""`hookline serve --processes N`: several server processes on one SQLite file, supervised by a parent."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import httpx
import pytest

from hookline.models import ExecutionStatus
from hookline.store.sql_store import SqlStore
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration import _crash_load as load
from tests.integration._executions import all_executions, job_counts, nothing_runnable
from tests.integration._live_server import LiveServer, free_port, hookline_env, import_workflow, run_hookline

pytestmark = pytest.mark.slow

PROCESSES = 2
SERVING = b"Application startup complete."
"""What each server process logs once it serves (uvicorn's line)."""


def serve_processes(env: dict[str, str], log: Path) -> LiveServer:
    """A live `hookline serve --processes 2` (the parent is the process the LiveServer holds)."""
    return LiveServer(env, log, ("serve", "--processes", str(PROCESSES)))


async def start_all(server: LiveServer) -> None:
    """Start the supervisor and wait until every one of its server processes serves."""
    already = server.log_path.read_bytes().count(SERVING) if server.log_path.exists() else 0
    await server.start()
    await wait_until(
        lambda: _logged(server, already + PROCESSES), f"{PROCESSES} server processes serve", within=60
    )


async def _logged(server: LiveServer, times: int) -> bool:
    return server.log_path.read_bytes().count(SERVING) >= times


def children(parent: int) -> set[int]:
    """The server processes of a supervisor: its children running hookline (not the resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # it exited meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and has not been reaped into a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_two_processes_run_each_accepted_request_exactly_once(
    tmp_path: Path, live_store: SqlStore
) -> None:
    """Requests spread by the kernel over two processes on one SQLite file each run once, node by node."""
    env = hookline_env(tmp_path / "data", HOOKLINE_LEASE_SECONDS=load.LEASE_SECONDS)
    key = import_workflow(env, chain(*[("crash-work", {"seconds": 0.001})] * 3, key="spread"), tmp_path)
    async with serve_processes(env, tmp_path / "server.log") as server:
        await start_all(server)
        assert len(children(server.pid)) == PROCESSES
        accepted = await _send(server, key, 2000)
        await wait_until(lambda: nothing_runnable(live_store), "every execution has finished", within=120)
        executions = await all_executions(live_store)
        jobs = await job_counts(live_store, executions)
    assert len(_claimants(tmp_path / "data" / "hookline.db")) == PROCESSES, "one process ran everything"
    assert {e.id for e in executions} == accepted
    assert {e.status for e in executions} == {ExecutionStatus.RESOLVED}
    assert {e: c for e, c in jobs.items() if c != load.CHAIN} == {}


async def test_sigkill_of_one_process_loses_nothing_and_runs_nothing_twice(
    tmp_path: Path, live_store: SqlStore
) -> None:
    """One of two processes killed under load: it is replaced, and every accepted request runs once."""
    env = hookline_env(tmp_path / "data", HOOKLINE_LEASE_SECONDS=load.LEASE_SECONDS)
    work = ("crash-work", {"seconds": 0.02})
    key = import_workflow(env, chain(work, work, work, key="crash-one"), tmp_path)
    database = tmp_path / "data" / "hookline.db"
    async with serve_processes(env, tmp_path / "server.log") as server:
        volley = await _kill_one_under_load(server, key, 150, lambda victim: _runs_some(database, victim))
        executions, jobs = await load.left_after(volley, live_store)
        assert server.running, "the supervisor exited when one of its processes died"

    load.assert_every_accepted_resolved(volley, executions)
    load.assert_each_ran_once(executions, jobs)


async def test_sigkill_of_one_process_running_before_answers_loses_no_answered_request(
    tmp_path: Path, live_store: SqlStore
) -> None:
    """With HOOKLINE_RUN_BEFORE_ANSWER, one of two processes killed under load: each answered request
    is recorded finished once."""
    env = hookline_env(tmp_path / "data", HOOKLINE_RUN_BEFORE_ANSWER="true")
    key = import_workflow(env, chain(load.PURE_STEP, load.PURE_STEP, key="crash-pure"), tmp_path)
    async with serve_processes(env, tmp_path / "server.log") as server:
        volley = await _kill_one_under_load(server, key, 300, lambda _victim: load.at_once())
        executions, _ = await load.left_after(volley, live_store)
    await load.assert_each_recorded_finished_once(volley, executions, live_store)


async def test_sigterm_to_the_supervisor_stops_every_process_cleanly(
    tmp_path: Path, live_store: SqlStore
) -> None:
    """SIGTERM to the parent: each process shuts down gracefully, then the parent exits 0."""
    env = hookline_env(tmp_path / "data")
    key = import_workflow(env, chain(("crash-work", {"seconds": 0.05}), key="stop"), tmp_path)
    async with serve_processes(env, tmp_path / "server.log") as server:
        await start_all(server)
        served = children(server.pid)
        accepted = await _send(server, key, 200)
        server.terminate()
        assert await server.wait_exit(within=60) == 0
    assert not any(alive(pid) for pid in served)
    # Whatever was still queued or cut short at the stop stays in the database for the next start.
    executions = await all_executions(live_store)
    assert {e.id for e in executions} == accepted
    assert {e.status for e in executions} <= {ExecutionStatus.RESOLVED, ExecutionStatus.QUEUED}


async def test_server_processes_end_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    """SIGKILL to the parent: its orphaned processes shut themselves down and free the port."""
    env = hookline_env(tmp_path / "data")
    async with serve_processes(env, tmp_path / "server.log") as server:
        await start_all(server)
        served = children(server.pid)
        server.kill()

        async def gone() -> bool:
            return not any(alive(pid) for pid in served)

        await wait_until(gone, "the orphaned server processes have exited")


async def test_a_restart_after_all_processes_died_resumes_their_executions_at_once(
    tmp_path: Path, live_store: SqlStore
) -> None:
    """Every process SIGKILLed under load: the next start releases their claims, not their lease."""
    env = hookline_env(tmp_path / "data", HOOKLINE_LEASE_SECONDS="600")  # far longer than the test
    work = ("crash-work", {"seconds": 0.02})
    key = import_workflow(env, chain(work, work, work, key="restart"), tmp_path)
    async with serve_processes(env, tmp_path / "server.log") as server:
        await start_all(server)

        def kill_all() -> None:  # a crash of the whole machine: no process shuts down
            served = children(server.pid)
            server.kill()  # the supervisor first, so that it starts no replacement
            for pid in served:
                os.kill(pid, signal.SIGKILL)

        volley = await load.send_and_kill(
            cast(LiveServer, _Killer(server.url, kill_all)),
            key,
            concurrency=50,
            kill_after=150,
            kill_when=lambda: load.some_execution_running(live_store),
        )
        await start_all(server)
        executions, jobs = await load.left_after(volley, live_store)
    assert set(volley.accepted.values()) <= {e.id for e in executions}
    load.assert_each_ran_once(executions, jobs)


async def test_metrics_sum_every_process_whichever_answers_and_a_replaced_one_counts_on(
    tmp_path: Path,
) -> None:
    """Each scrape of /metrics, whichever process the kernel hands it, counts the requests of both; a
    process killed and replaced counts on from what it had written, so no sum goes down."""
    env = hookline_env(tmp_path / "data", HOOKLINE_METRICS_PUBLIC="true")
    key = import_workflow(env, chain(("crash-work", {"seconds": 0.001}), key="counted"), tmp_path)
    async with serve_processes(env, tmp_path / "server.log") as server:
        await start_all(server)
        await _send(server, key, 200)

        async def every_scrape_counts_all() -> bool:
            return await _answered(server, key, scrapes=8) == {200}

        await wait_until(every_scrape_counts_all, "every scrape counts the 200 requests")
        before = children(server.pid)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        await wait_until(lambda: _replaced(server.pid, before, victim), "the killed process is replaced")
        await wait_until(lambda: _logged(server, PROCESSES + 1), "its replacement serves", within=60)
        assert await _answered(server, key, scrapes=8) == {200}


async def _answered(server: LiveServer, key: str, *, scrapes: int) -> set[float]:
    """The `200` answers to `key` that each of `scrapes` scrapes, on fresh connections, counted."""
    wanted = f'hookline_webhook_requests_total{{status="200",workflow="{key}"}} '
    seen: set[float] = set()
    limits = httpx.Limits(max_keepalive_connections=0)  # new connections: the kernel spreads them
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
        for _ in range(scrapes):
            response = await client.get("/metrics")
            assert response.status_code == 200, response.text
            counted = [
                line.removeprefix(wanted) for line in response.text.splitlines() if line.startswith(wanted)
            ]
            seen.add(float(counted[0]) if counted else 0.0)
    return seen


def test_a_process_that_cannot_start_stops_the_supervisor(tmp_path: Path) -> None:
    """A server process failing at start-up is not restarted: all stop and the supervisor exits 1."""
    env = {**hookline_env(tmp_path / "data"), "HOOKLINE_PLUGINS": "tests.integration._child_failure_plugin"}
    done = _serve_to_the_end(env)
    assert done.returncode == 1
    assert done.stderr.count("refuses to load in a server process") >= 1
    assert "starting another" not in done.stderr


def test_an_in_memory_database_is_refused(tmp_path: Path) -> None:
    """Several processes cannot share a database in memory: a clear error, exit code 2."""
    env = hookline_env(tmp_path / "data", HOOKLINE_DATABASE_URL="sqlite:///:memory:")
    done = _serve_to_the_end(env)
    assert done.returncode == 2
    assert "in-memory SQLite database" in done.stderr
    assert "Traceback" not in done.stderr


def _serve_to_the_end(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `hookline serve --processes 2` until it exits by itself (within 60 s); what it printed."""
    return run_hookline(env, "serve", "--processes", "2", "--port", str(free_port()))


async def _kill_one_under_load(
    server: LiveServer, key: str, kill_after: int, kill_when: Callable[[int], Awaitable[bool]]
) -> load.Volley:
    """Start every process, SIGKILL one of them under load once `kill_when(its pid)` holds, and wait
    until the supervisor has replaced it; what the load got."""
    await start_all(server)
    before = children(server.pid)
    victim = min(before)
    volley = await load.send_and_kill(
        cast(LiveServer, _Killer(server.url, lambda: os.kill(victim, signal.SIGKILL))),
        key,
        concurrency=50,
        kill_after=kill_after,
        kill_when=lambda: kill_when(victim),
    )
    await wait_until(lambda: _replaced(server.pid, before, victim), "the killed process is replaced")
    return volley


class _Killer:
    """Stands in for the LiveServer in `send_and_kill` (its `url` and `kill`), killing what we choose."""

    def __init__(self, url: str, kill: Callable[[], None]) -> None:
        self.url = url
        self.kill = kill


async def _runs_some(database: Path, pid: int) -> bool:
    """Whether process `pid` is in the middle of an execution (claimed, with a job recorded)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        [(count,)] = connection.execute(
            "SELECT count(*) FROM executions e WHERE status = 'started' AND claimed_by LIKE ?"
            " AND EXISTS (SELECT 1 FROM jobs j WHERE j.execution_id = e.id)",
            (f"%:{pid}:%",),
        ).fetchall()
    return bool(count)


def _claimants(database: Path) -> set[str]:
    """The workers (each named after its process) that claimed an execution in this SQLite file."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        rows = connection.execute("SELECT DISTINCT claimed_by FROM executions").fetchall()
    return {row[0] for row in rows if row[0] is not None}


async def _replaced(parent: int, before: set[int], victim: int) -> bool:
    """Whether the supervisor runs as many processes as before, the killed one replaced."""
    now = children(parent)
    return len(now) == len(before) and victim not in now


async def _send(server: LiveServer, key: str, count: int) -> set[int]:
    """POST `count` requests `{"n": i}`, 50 at a time, on fresh connections; the accepted ids."""
    accepted: set[int] = set()
    gate = asyncio.Semaphore(50)
    limits = httpx.Limits(max_keepalive_connections=0)  # new connections: the kernel spreads them
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:

        async def one(n: int) -> None:
            async with gate:
                response = await client.post(f"/api/webhook:trigger/{key}", json={"n": n})
            assert response.status_code == 200, response.text
            accepted.add(int(response.headers["x-hookline-execution"]))

        await asyncio.gather(*(one(n) for n in range(count)))
    return accepted
