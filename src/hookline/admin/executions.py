"""Execution administration: list and inspect executions, cancel, replay and resume them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from hookline.engine.dispatcher import Dispatched, Dispatcher
from hookline.engine.flows import FlowCache
from hookline.errors import Conflict, NotFound
from hookline.models import Execution, ExecutionStatus, Job, JobStatus
from hookline.store.base import Store
from hookline.store.execution_history import ExecutionFilter

RESUMABLE = (ExecutionStatus.FAILED, ExecutionStatus.ERROR, ExecutionStatus.ABORTED)


class ExecutionAdmin:
    """Reads and acts on executions for the API and the CLI.

    `stop_local` stops an execution if this process is running it (a server passes its
    worker pool's `cancel`); other processes notice a cancel when they renew their claim.
    """

    def __init__(
        self,
        store: Store,
        flows: FlowCache,
        dispatcher: Dispatcher,
        *,
        stop_local: Callable[[int], bool] | None = None,
    ) -> None:
        self._store = store
        self._flows = flows
        self._dispatcher = dispatcher
        self._stop_local = stop_local or (lambda _id: False)

    async def find(self, query: ExecutionFilter) -> list[Execution]:
        """Executions matching a filter, newest first."""
        return await self._store.list_executions(query)

    async def get(self, execution_id: int) -> tuple[Execution, list[Job]]:
        """One execution with its jobs; `NotFound` when there is none."""
        execution = await self._store.get_execution(execution_id)
        if execution is None:
            raise NotFound(f"No execution has the id {execution_id}.")
        return execution, await self._store.list_jobs(execution_id)

    async def cancel(self, execution_id: int) -> Execution:
        """Cancel a queued or running execution; a finished one is a `Conflict`."""
        execution, _ = await self.get(execution_id)
        if not await self._store.cancel_execution(execution_id, now=datetime.now(UTC)):
            raise Conflict("not_cancelable", f"The execution is already {execution.status.value}.")
        self._stop_local(execution_id)
        return (await self.get(execution_id))[0]

    async def replay(self, execution_id: int) -> Dispatched:
        """A new execution with the same trigger data on the key's current version.

        A synchronous workflow runs at once and the result is returned finished; an
        asynchronous one is queued for the workers.
        """
        execution, _ = await self.get(execution_id)
        compiled = await self._flows.current(execution.key)
        if compiled is None:
            raise NotFound(f"The workflow {execution.key!r} no longer exists.")
        if compiled.flow.workflow.sync:
            return await self._dispatcher.run_sync(compiled, execution.context)
        return await self._dispatcher.enqueue(compiled, execution.context)

    async def resume(self, execution_id: int) -> Execution:
        """Queue a failed execution again so it continues from its failed node, on its own version."""
        execution, jobs = await self.get(execution_id)
        if execution.status not in RESUMABLE:
            allowed = ", ".join(s.value for s in RESUMABLE)
            raise Conflict(
                "not_resumable", f"Only {allowed} executions resume; this one is {execution.status.value}."
            )
        unfinished = [job.id for job in jobs if job.status is not JobStatus.RESOLVED]
        if not await self._store.requeue_execution(execution_id, drop_job_ids=unfinished):
            raise Conflict("not_resumable", "The execution changed meanwhile; look at it again.")
        queued = (await self.get(execution_id))[0]  # read before waking: a worker may claim it at once
        self._dispatcher.wake()
        return queued
