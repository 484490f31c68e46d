"""Crash tests for the nodes that wait and act: a live `hookline serve` is SIGKILLed and restarted.

A receiver in the test process counts every call by its Idempotency-Key. After the restart each
finished step has run exactly once: a delay fires once and not early, request retries go on where
they were, and a loop over 20 items resumes at its item. The one call that may be made twice is the
one in flight at the kill, and it carries the same key (the at-least-once contract of the request
node, docs/nodes.md#at-least-once-and-the-idempotency-key).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookline.models import ExecutionStatus, Job, JobStatus
from hookline.store.sql_store import SqlStore
from hookline.types import JsonObject
from tests._receiver import Receiver, Reply, Seen
from tests._waiting import wait_until
from tests._workflows import keyed_workflow
from tests.integration._live_server import LiveServer, hookline_env, import_workflow

pytestmark = pytest.mark.slow

POLL_SECONDS = "0.2"
LEASE_SECONDS = "2"
"""A lease short enough that the restarted server takes over the killed one's claims quickly."""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The servers' settings: a short lease and poll, and the receiver on 127.0.0.1 allowed."""
    return hookline_env(
        tmp_path / "data",
        HOOKLINE_LEASE_SECONDS=LEASE_SECONDS,
        HOOKLINE_POLL_SECONDS=POLL_SECONDS,
        HOOKLINE_REQUEST_ALLOW="127.0.0.1",
    )


def fails_first(count: int, *, delay: float = 0.0) -> Callable[[Seen], Reply]:
    """A handler answering 503 to the first `count` calls of each Idempotency-Key, then 200."""
    seen: Counter[str] = Counter()

    def handle(request: Seen) -> Reply:
        key = request.header("Idempotency-Key") or ""
        seen[key] += 1
        return Reply(status=503, delay=delay) if seen[key] <= count else Reply(delay=delay)

    return handle


def node(
    key: str, kind: str, config: dict[str, Any], upstream: str | None = None, branch: int | None = None
) -> dict[str, Any]:
    """One node of workflow JSON."""
    return {"key": key, "type": kind, "upstream": upstream, "branchIndex": branch, "config": config}


async def post(server: LiveServer, key: str) -> int:
    """POST an empty order to the workflow; the id of the queued execution."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        answer = await client.post(f"/api/webhook:trigger/{key}", json={"order": 1})
    assert answer.status_code == 200, answer.text
    return int(answer.headers["x-hookline-execution"])


async def finished(live_store: SqlStore, execution_id: int) -> bool:
    """Whether the execution has a final status."""
    execution = await live_store.get_execution(execution_id)
    return execution is not None and execution.status.is_final


async def jobs_by_key(live_store: SqlStore, execution_id: int) -> dict[str, list[Job]]:
    """The execution's recorded jobs by node key."""
    jobs: dict[str, list[Job]] = {}
    for job in await live_store.list_jobs(execution_id):
        jobs.setdefault(job.node_key, []).append(job)
    return jobs


async def resolved_after_a_kill(
    env: dict[str, str],
    tmp_path: Path,
    live_store: SqlStore,
    receiver: Receiver,
    flow: JsonObject,
    kill_when: Callable[[int], Awaitable[bool]],
    what: str,
    *,
    within: float,
    finish_within: float = 30,
) -> tuple[int, int]:
    """Import `flow`, POST to it, SIGKILL the server once `kill_when(execution id)` holds, start it again.

    `what` names the moment of the kill, awaited at most `within` seconds. The execution must then
    finish, resolved, within `finish_within` seconds. Gives its id and the calls `receiver` had at the kill.
    """
    key = import_workflow(env, flow, tmp_path)
    async with LiveServer(env, tmp_path / "server.log") as server:
        await server.start()
        execution_id = await post(server, key)
        await wait_until(lambda: kill_when(execution_id), what, within=within)
        server.kill()
        at_kill = len(receiver.seen)
        await server.start()
        await wait_until(
            lambda: finished(live_store, execution_id), "the execution finished", within=finish_within
        )
    execution = await live_store.get_execution(execution_id)
    assert execution is not None
    assert execution.status is ExecutionStatus.RESOLVED
    return execution_id, at_kill


async def test_sigkill_during_a_delay_fires_it_once_and_not_early(
    tmp_path: Path, env: dict[str, str], live_store: SqlStore
) -> None:
    """Killed while an execution waits in a 2 s delay: after the restart the request after it runs once."""
    receiver = Receiver()
    await receiver.start()
    try:
        flow = keyed_workflow(
            "crash-delay",
            node("wait", "delay", {"duration": 2, "unit": "seconds"}),
            node("post", "request", {"url": receiver.url(), "data": {"after": "delay"}}, "wait"),
            sync=False,
        )

        async def waiting(execution_id: int) -> bool:
            execution = await live_store.get_execution(execution_id)
            return execution is not None and execution.status is ExecutionStatus.WAITING

        what = "the execution waits in its delay"
        execution_id, _ = await resolved_after_a_kill(
            env, tmp_path, live_store, receiver, flow, waiting, what, within=10
        )
    finally:
        await receiver.close()
    jobs = await jobs_by_key(live_store, execution_id)
    [delay], [request] = jobs["wait"], jobs["post"]
    resume_at = datetime.fromisoformat(delay.result["resumeAt"])
    assert request.started_at is not None
    assert resume_at <= request.started_at < resume_at + timedelta(seconds=10)
    assert len(receiver.seen) == 1
    print(f"\ndelay: 1 call made, 1 expected; fired {request.started_at - resume_at} after its time")


async def test_sigkill_during_request_retries_goes_on_with_the_same_key(
    tmp_path: Path, env: dict[str, str], live_store: SqlStore
) -> None:
    """Killed between retries (503 three times, then 200): the restarted server finishes the retries."""
    receiver = Receiver(fails_first(3))
    await receiver.start()
    retry = {"attempts": 6, "backoff": 400, "maxDelay": 800}
    try:
        flow = keyed_workflow(
            "crash-retry", node("post", "request", {"url": receiver.url(), "retry": retry}), sync=False
        )

        async def two_calls(_execution_id: int) -> bool:
            return len(receiver.seen) >= 2

        what = "the receiver refused two calls"
        execution_id, _ = await resolved_after_a_kill(
            env, tmp_path, live_store, receiver, flow, two_calls, what, within=10
        )
    finally:
        await receiver.close()
    [request] = (await jobs_by_key(live_store, execution_id))["post"]
    assert request.status is JobStatus.RESOLVED
    keys = Counter(seen.header("Idempotency-Key") for seen in receiver.seen)
    assert list(keys) == [f"{execution_id}-post"]  # every call, before and after the kill, one key
    calls = keys[f"{execution_id}-post"]
    assert 4 <= calls <= 5  # 503, 503, 503, 200, and at most the one call in flight at the kill again
    print(f"\nrequest retries: {calls} calls made, 4 expected, {calls - 4} repeated with the same key")


async def test_sigkill_in_the_middle_of_a_loop_resumes_at_its_item(
    tmp_path: Path, env: dict[str, str], live_store: SqlStore
) -> None:
    """A loop posting 20 items, killed after the 8th call: every item posted once, at most one twice."""
    receiver = Receiver(fails_first(0, delay=0.05))
    await receiver.start()
    try:
        flow = keyed_workflow(
            "crash-loop",
            node("each", "loop", {"target": 20}),
            node("post", "request", {"url": receiver.url(), "data": "{{$scopes.each.item}}"}, "each", 0),
            sync=False,
        )

        async def eight_calls(_execution_id: int) -> bool:
            return len(receiver.seen) >= 8

        what = "the receiver got 8 items"
        execution_id, at_kill = await resolved_after_a_kill(
            env, tmp_path, live_store, receiver, flow, eight_calls, what, within=20, finish_within=60
        )
    finally:
        await receiver.close()
    calls = Counter(seen.header("Idempotency-Key") for seen in receiver.seen)
    expected = {f"{execution_id}-post@each#{index}" for index in range(20)}
    assert set(calls) == expected  # every item posted, each under its own key
    repeated = {key: count for key, count in calls.items() if count > 1}
    assert len(repeated) <= 1  # at most the item in flight at the kill
    assert all(count == 2 for count in repeated.values())
    jobs = await jobs_by_key(live_store, execution_id)
    assert sorted(job.meta["iteration"] for job in jobs["post"]) == sorted(f"each#{i}/" for i in range(20))
    assert len(jobs["each"]) == 1
    print(
        f"\nloop of 20: {sum(calls.values())} calls made, 20 expected, "
        f"{len(repeated)} repeated with the same key ({at_kill} calls before the kill)"
    )
