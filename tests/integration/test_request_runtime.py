"""The request node inside the running app: its retries wait durably (async) or in place (sync).

Through the webhook URL to a real receiver on 127.0.0.1, which the server is allowed to reach
(`request_allow`); a server with the default allow-list refuses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hookline.models import ExecutionStatus, Job, JobStatus
from tests._receiver import Receiver, Reply, Seen
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration.conftest import Server

RETRY = {"attempts": 3, "backoff": 50, "maxDelay": 100}
"""Three attempts, a few tens of milliseconds apart."""


def fails_twice() -> Callable[[Seen], Reply]:
    """A receiver handler that answers 503 to its first two requests and 200 after."""
    count = 0

    def handle(_seen: Seen) -> Reply:
        nonlocal count
        count += 1
        return Reply(status=503, body=b'{"busy": true}') if count <= 2 else Reply()

    return handle


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running receiver, closed after the test."""
    server = Receiver(fails_twice())
    await server.start()
    yield server
    await server.close()


def posting(url: str, *, sync: bool) -> dict[str, Any]:
    """Workflow JSON: one request node `n0` posting the webhook's body to `url`, with RETRY."""
    workflow = chain("request", sync=sync)
    workflow["nodes"][0]["config"] = {"url": url, "data": "{{$context.body}}", "retry": RETRY}
    return workflow


async def request_job(server: Server, execution_id: int) -> Job:
    """The request node's one job."""
    [job] = await server.runtime.store.list_jobs(execution_id)
    return job


async def test_async_retries_are_one_job_and_one_idempotency_key(
    make_server: Callable[..., Any], receiver: Receiver
) -> None:
    """503, 503, 200: the execution resolves with one job of 3 attempts; every call had the same key."""
    async with make_server(request_allow=("127.0.0.1",)) as server:
        key = await server.load(posting(receiver.url(), sync=False))
        answer = await server.post(key, json={"order": 7})
        execution_id = int(answer.headers["x-hookline-execution"])

        async def finished() -> bool:
            execution = await server.runtime.store.get_execution(execution_id)
            return execution is not None and execution.status.is_final

        await wait_until(finished, "the execution finished", within=10)
        execution = await server.runtime.store.get_execution(execution_id)
        assert execution is not None
        assert (execution.status, execution.attempt) == (ExecutionStatus.RESOLVED, 1)
        job = await request_job(server, execution_id)
        assert (job.status, job.meta["attempt"]) == (JobStatus.RESOLVED, 3)
    assert len(receiver.seen) == 3
    assert {seen.header("Idempotency-Key") for seen in receiver.seen} == {f"{execution_id}-n0"}
    assert {seen.body for seen in receiver.seen} == {b'{"order":7}'}


async def test_sync_retries_wait_in_place_and_answer(
    make_server: Callable[..., Any], receiver: Receiver
) -> None:
    """In a synchronous workflow the same retries happen within the request: 200 after 3 calls."""
    async with make_server(request_allow=("127.0.0.1",)) as server:
        key = await server.load(posting(receiver.url(), sync=True))
        answer = await server.post(key, json={"order": 8})
        assert answer.status_code == 200, answer.text
        job = await request_job(server, int(answer.headers["x-hookline-execution"]))
        assert (job.status, job.meta["attempt"]) == (JobStatus.RESOLVED, 3)
    assert len(receiver.seen) == 3


async def test_a_server_allows_no_private_address_by_default(server: Server, receiver: Receiver) -> None:
    """Without HOOKLINE_REQUEST_ALLOW the receiver on 127.0.0.1 is never called; the job says how to allow."""
    key = await server.load(posting(receiver.url(), sync=True))
    answer = await server.post(key, json={})
    assert answer.status_code == 500
    job = await request_job(server, int(answer.headers["x-hookline-execution"]))
    assert job.status is JobStatus.FAILED
    assert "HOOKLINE_REQUEST_ALLOW=127.0.0.1" in job.result["message"]
    assert receiver.seen == []


async def test_each_loop_item_has_its_own_idempotency_key(make_server: Callable[..., Any]) -> None:
    """A request inside a loop: one key per item (`<execution>-post@each#<index>`), kept over retries."""
    receiver = Receiver(fails_twice())
    await receiver.start()
    try:
        workflow = {
            "title": "each",
            "type": "webhook",
            "sync": True,
            "enabled": True,
            "config": {},
            "nodes": [
                {
                    "key": "each",
                    "type": "loop",
                    "upstream": None,
                    "branchIndex": None,
                    "config": {"target": 2},
                },
                {
                    "key": "post",
                    "type": "request",
                    "upstream": "each",
                    "branchIndex": 0,
                    "config": {"url": receiver.url(), "data": "{{$scopes.each.item}}", "retry": RETRY},
                },
            ],
        }
        async with make_server(request_allow=("127.0.0.1",)) as server:
            key = await server.load(workflow)
            answer = await server.post(key, json={})
            assert answer.status_code == 200, answer.text
            execution_id = answer.headers["x-hookline-execution"]
    finally:
        await receiver.close()
    keys = [seen.header("Idempotency-Key") for seen in receiver.seen]
    assert keys == [f"{execution_id}-post@each#0"] * 3 + [f"{execution_id}-post@each#1"]
