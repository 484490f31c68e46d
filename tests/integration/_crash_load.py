"""Loads that end in a SIGKILL: requests sent to a live server until it is killed, and what they left."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from hookline.models import Execution, ExecutionStatus
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore
from tests._waiting import wait_until
from tests.integration._executions import all_executions, job_counts, nothing_runnable
from tests.integration._live_server import LiveServer

LEASE_SECONDS = "2"
"""The claim lease of the killed servers: short, so that a restart takes their executions over soon."""

CHAIN = Counter(["n0", "n1", "n2"])
"""The jobs of one execution of the three-node chain the loads post to: one per node."""

_NEVER = {"calculator": "equal", "operands": ["{{$context.body.n}}", -1]}
PURE_STEP = ("condition", {"rejectOnFalse": False, "engine": "basic", "calculation": _NEVER})
"""A node without outside effects (a condition that is false and goes on): what
`HOOKLINE_RUN_BEFORE_ANSWER` runs before the answer."""


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


async def at_once() -> bool:
    """A kill condition that always holds: kill as soon as enough requests were answered."""
    return True


async def some_execution_running(store: SqlStore) -> bool:
    """True when an execution is started and has recorded at least one job (it is mid-workflow)."""
    for execution in await store.list_executions(ExecutionFilter(status=ExecutionStatus.STARTED, limit=20)):
        if await store.list_jobs(execution.id):
            return True
    return False


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


async def left_after(volley: Volley, store: SqlStore) -> tuple[list[Execution], dict[int, Counter[str]]]:
    """Wait until nothing is left to run; then every execution and its job counts (printed as figures)."""
    # The backlog at the kill depends on the machine: 8 workers (the old default) ran ~100 a second.
    backlog = len(volley.accepted) + len(volley.cut_off)
    await wait_until(lambda: nothing_runnable(store), "every execution has finished", 30 + backlog / 50)
    executions = await all_executions(store)
    jobs = await job_counts(store, executions)
    print(f"\n{figures(volley, executions, jobs)}")
    return executions, jobs


def assert_each_ran_once(executions: list[Execution], jobs: dict[int, Counter[str]]) -> None:
    """Some execution was resumed, none is a request's second, and each resolved with one job per node."""
    assert any(e.attempt > 1 for e in executions), "no execution was running at the kill"
    per_request = Counter(e.context["body"]["n"] for e in executions)
    assert max(per_request.values()) == 1, "a request has two executions"
    statuses = {e.status for e in executions}
    assert statuses == {ExecutionStatus.RESOLVED}, f"not all resolved: {statuses}"
    others = {e: c for e, c in jobs.items() if c != CHAIN}
    assert others == {}, f"executions whose nodes did not each run once: {others}"


def assert_every_accepted_resolved(volley: Volley, executions: list[Execution]) -> None:
    """Every request was answered 2xx or cut off, and each accepted one has its own execution, resolved."""
    assert volley.refused == {}, f"a request was answered, but not with 2xx: {volley.refused}"
    by_id = {e.id: e for e in executions}
    for n, execution_id in volley.accepted.items():
        execution = by_id.get(execution_id)
        assert execution is not None, f"accepted request {n} has no execution"
        found = (execution.context["body"]["n"], execution.status)
        assert found == (n, ExecutionStatus.RESOLVED), f"accepted request {n} has {found}"


async def assert_each_recorded_finished_once(
    volley: Volley, executions: list[Execution], store: SqlStore
) -> None:
    """Run before their answers: every accepted request has one execution, resolved in its first
    attempt (none was left mid-run), with one job for each of the two nodes of its chain."""
    assert_every_accepted_resolved(volley, executions)
    per_request = Counter(e.context["body"]["n"] for e in executions)
    assert max(per_request.values()) == 1, "a request has two executions"
    assert {e.attempt for e in executions} == {1}, "an execution was left mid-run and resumed"
    jobs = {e.id: [j.node_key for j in await store.list_jobs(e.id)] for e in executions}
    assert {tuple(keys) for keys in jobs.values()} == {("n0", "n1")}
