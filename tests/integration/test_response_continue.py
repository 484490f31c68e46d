"""A response that lets the workflow continue: the caller is answered at once, the rest runs queued.

The execution is committed (queued, with its jobs so far and the answer) before the caller hears
the answer, so a crash right after cannot lose the rest; a worker resumes it after the response.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hookline.engine.flows import FlowCache
from hookline.models import ExecutionStatus, JobStatus
from hookline.queue.worker import WorkerPool
from tests._workflows import chain
from tests.integration._admin import authorize, error_of, where
from tests.integration.conftest import Server

ANSWER = {"statusCode": 202, "body": {"accepted": "{{$context.body.id}}"}, "continue": True}


def answering_early(response: dict[str, Any] | None = None) -> dict[str, Any]:
    """A synchronous workflow: a response `n0` (continuing by default), a calculation `n1`, an end `n2`."""
    workflow = chain("response", "calculation", "end", sync=True)
    workflow["nodes"][0]["config"] = response or ANSWER
    workflow["nodes"][1]["config"] = {"expression": "{{$context.body.id}} * 2"}
    return workflow


async def test_the_caller_is_answered_before_the_rest_runs(make_server: Any) -> None:
    """Without workers nothing runs after the answer: the execution waits queued with the response's job."""
    async with make_server(workers=0) as server:
        key = await server.load(answering_early())
        answer = await server.post(key, json={"id": 21})
        assert (answer.status_code, answer.json()) == (202, {"accepted": 21})
        execution_id = int(answer.headers["x-hookline-execution"])
        store = server.runtime.store
        execution = await store.get_execution(execution_id)
        assert execution is not None
        assert execution.status is ExecutionStatus.QUEUED
        assert execution.response is not None
        assert (execution.response["statusCode"], execution.response["body"]) == (202, {"accepted": 21})
        assert [job.node_key for job in await store.list_jobs(execution_id)] == ["n0"]

        workers = WorkerPool(store, FlowCache(store), concurrency=2, poll_seconds=0.05)
        await asyncio.wait_for(workers.drain(), 10)
        finished = await store.get_execution(execution_id)
        assert finished is not None
        assert (finished.status, finished.attempt) == (ExecutionStatus.RESOLVED, 1)
        assert finished.response == execution.response  # what the caller got stays recorded
        jobs = await store.list_jobs(execution_id)
        assert [(job.node_key, job.status, job.result) for job in jobs] == [
            ("n0", JobStatus.RESOLVED, None),
            ("n1", JobStatus.RESOLVED, 42),
            ("n2", JobStatus.RESOLVED, None),
        ]


async def test_the_background_part_runs_on_the_servers_workers(server: Server) -> None:
    """With workers, the rest of the workflow finishes on its own after the answer."""
    key = await server.load(answering_early())
    answer = await server.post(key, json={"id": 5})
    execution_id = int(answer.headers["x-hookline-execution"])
    async with asyncio.timeout(10):
        while True:
            execution = await server.runtime.store.get_execution(execution_id)
            if execution is not None and execution.status is ExecutionStatus.RESOLVED:
                break
            await asyncio.sleep(0.02)
    jobs = await server.runtime.store.list_jobs(execution_id)
    assert [job.result for job in jobs if job.node_key == "n1"] == [10]


async def test_a_failure_after_the_answer_fails_the_execution_not_the_answer(make_server: Any) -> None:
    """The caller got 202; the end node then fails the execution in the background."""
    workflow = answering_early()
    workflow["nodes"][2]["config"] = {"endStatus": "failed"}
    async with make_server(workers=0) as server:
        key = await server.load(workflow)
        answer = await server.post(key, json={"id": 1})
        assert answer.status_code == 202
        store = server.runtime.store
        await asyncio.wait_for(WorkerPool(store, FlowCache(store), poll_seconds=0.05).drain(), 10)
        execution = await store.get_execution(int(answer.headers["x-hookline-execution"]))
        assert execution is not None
        assert execution.status is ExecutionStatus.FAILED


async def test_nodes_may_follow_a_response_only_when_it_continues(server: Server) -> None:
    """Saved without `continue`, a node after a response is refused, naming the response node."""
    authorize(server)
    refused = await server.client.post(
        "/api/workflows/import", json=answering_early({"statusCode": 200, "body": "ok"})
    )
    error = error_of(refused, 422)
    assert where(error) == ["nodes[n1]"]
    assert "nothing may follow 'n0'" in error["details"][0]["message"]
    accepted = await server.client.post("/api/workflows/import", json=answering_early())
    assert accepted.status_code == 201, accepted.text


async def test_continue_must_be_true_or_false(server: Server) -> None:
    """`continue: "yes"` is a problem on that field."""
    authorize(server)
    response = await server.client.post(
        "/api/workflows/import", json=answering_early({"statusCode": 200, "continue": "yes"})
    )
    error = error_of(response, 422)
    assert where(error) == ["nodes[n0].config.continue"]
