"""The delay node through HTTP: the execution waits (no worker), then goes on or fails, as configured."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hookline.models import ExecutionStatus, JobStatus
from tests._workflows import chain
from tests.integration._admin import authorize, error_of, where
from tests.integration.conftest import Server

WITHIN = 10.0
"""How long a test waits for what the workers do (far above a test's delays)."""


def delayed(delay: dict[str, Any], *, then: str = "end", sync: bool = False) -> dict[str, Any]:
    """Workflow JSON: a delay node `n0` with this config, then a node of type `then`."""
    workflow = chain("delay", then, sync=sync)
    workflow["nodes"][0]["config"] = delay
    return workflow


async def accepted(server: Server, key: str) -> int:
    """POST to the webhook and return the id of the execution it queued."""
    answer = await server.post(key, json={"at": datetime.now(UTC).isoformat()})
    assert answer.status_code == 200, answer.text
    return int(answer.headers["x-hookline-execution"])


async def status_becomes(server: Server, execution_id: int, *wanted: ExecutionStatus) -> ExecutionStatus:
    """Poll the store until the execution has one of these statuses; that status."""
    async with asyncio.timeout(WITHIN):
        while True:
            execution = await server.runtime.store.get_execution(execution_id)
            if execution is not None and execution.status in wanted:
                return execution.status
            await asyncio.sleep(0.02)


async def test_a_delay_waits_without_a_worker_then_the_workflow_goes_on(server: Server) -> None:
    """`waiting` with nothing running for the duration, then `resolved`, the delay's job kept once."""
    key = await server.load(delayed({"duration": 300, "unit": "milliseconds"}))
    execution_id = await accepted(server, key)
    await status_becomes(server, execution_id, ExecutionStatus.WAITING)
    assert server.runtime.workers.running == 0
    assert await status_becomes(server, execution_id, ExecutionStatus.RESOLVED) is ExecutionStatus.RESOLVED
    jobs = await server.runtime.store.list_jobs(execution_id)
    assert [(job.node_key, job.status) for job in jobs] == [
        ("n0", JobStatus.RESOLVED),
        ("n1", JobStatus.RESOLVED),
    ]
    resume_at = datetime.fromisoformat(jobs[0].result["resumeAt"])
    assert jobs[1].started_at is not None
    assert jobs[1].started_at >= resume_at  # the next node ran only once the delay had ended


async def test_a_delay_with_end_status_failed_fails_the_execution(server: Server) -> None:
    """`endStatus: failed` ends the execution `failed` when the delay is over; nothing after it runs."""
    key = await server.load(delayed({"duration": 0.1, "unit": "seconds", "endStatus": "failed"}))
    execution_id = await accepted(server, key)
    assert await status_becomes(server, execution_id, ExecutionStatus.FAILED) is ExecutionStatus.FAILED
    jobs = await server.runtime.store.list_jobs(execution_id)
    assert [(job.node_key, job.status) for job in jobs] == [("n0", JobStatus.FAILED)]


async def test_a_delay_until_a_templated_time(server: Server) -> None:
    """`until` rendered from the request body: the delay ends at that time."""
    key = await server.load(delayed({"until": "{{$context.body.at}}"}))
    at = datetime.now(UTC) + timedelta(milliseconds=300)
    answer = await server.post(key, json={"at": at.isoformat()})
    execution_id = int(answer.headers["x-hookline-execution"])
    await status_becomes(server, execution_id, ExecutionStatus.RESOLVED)
    [delay, _] = await server.runtime.store.list_jobs(execution_id)
    assert delay.result == {"resumeAt": at.isoformat()}


async def test_a_delay_that_cannot_be_computed_is_an_error_job(server: Server) -> None:
    """A duration that renders to no number: the execution ends `error`, its job says why."""
    key = await server.load(delayed({"duration": "{{$context.body.missing}}", "unit": "seconds"}))
    execution_id = await accepted(server, key)
    assert await status_becomes(server, execution_id, ExecutionStatus.ERROR) is ExecutionStatus.ERROR
    [job] = await server.runtime.store.list_jobs(execution_id)
    assert "duration must be a number" in job.result["message"]


async def test_a_synchronous_workflow_refuses_a_delay_when_saved(server: Server) -> None:
    """Importing a synchronous workflow with a delay is a 422 naming the node."""
    authorize(server)
    workflow = delayed({"duration": 1, "unit": "seconds"}, then="response", sync=True)
    response = await server.client.post("/api/workflows/import", json=workflow)
    error = error_of(response, 422)
    assert where(error) == ["nodes[n0]"]
    assert "asynchronous workflows" in error["details"][0]["message"]
