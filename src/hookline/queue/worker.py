"""Workers: claim queued executions, run them concurrently, record each job, keep claims alive."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from hookline.engine.flows import FlowCache
from hookline.engine.processor import Processor
from hookline.errors import StorageUnavailable
from hookline.ids import new_id
from hookline.metrics import Metrics
from hookline.models import Execution, ExecutionStatus
from hookline.store.base import Store

log = logging.getLogger(__name__)


class WorkerPool:
    """Runs up to `concurrency` asynchronous executions at once in this process.

    The executions table is the queue: the pool claims rows (with a lease it renews while
    they run), resumes each one after its last finished job, and records the final status.
    A claim that is not renewed — the process died — expires and any worker takes it over.
    """

    def __init__(
        self,
        store: Store,
        flows: FlowCache,
        *,
        concurrency: int = 8,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        env: Mapping[str, str] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics or Metrics()
        self._flows = flows
        self._concurrency = concurrency
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._env = dict(env or {})
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{new_id()}"
        self._wakeup = asyncio.Event()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        """Say that new work may be waiting (called after an enqueue commits)."""
        self._wakeup.set()

    @property
    def running(self) -> int:
        """How many executions this pool runs right now."""
        return len(self._running)

    def cancel(self, execution_id: int) -> bool:
        """Stop an execution if this pool runs it; True when it did."""
        task = self._running.get(execution_id)
        if task is None:
            return False
        task.cancel()
        return True

    def start(self) -> None:
        """Start claiming and renewing in the background."""
        if self._concurrency > 0:
            self._tasks = [asyncio.create_task(self._claim_loop()), asyncio.create_task(self._renew_loop())]

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, give running executions `grace` seconds, then cancel the rest."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=grace)
        for task in list(self._running.values()):
            task.cancel()
        if self._running:
            await asyncio.wait(list(self._running.values()))

    async def drain(self) -> None:
        """Wait until nothing is queued or running here (for tests and the CLI)."""
        while True:
            self.wake()
            await asyncio.sleep(0)
            if self._running:
                await asyncio.wait(list(self._running.values()))
                continue
            claimed = await self._claim()
            if not claimed and not self._running:
                return

    async def _claim_loop(self) -> None:
        while True:
            try:
                claimed = await self._claim()
            except StorageUnavailable as exc:
                log.warning("cannot claim executions: %s", exc)
                claimed = 0
            if claimed == 0 or len(self._running) >= self._concurrency:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll)

    async def _claim(self) -> int:
        free = self._concurrency - len(self._running)
        if free <= 0:
            return 0
        executions = await self._store.claim_executions(
            self.worker_id, limit=free, lease_seconds=self._lease, now=_now()
        )
        for execution in executions:
            if execution.id in self._running:
                # Our own claim lapsed (renewals failed) and we took it again: it still runs here.
                continue
            task = asyncio.create_task(self._run(execution))
            self._running[execution.id] = task
            task.add_done_callback(functools.partial(self._finished, execution.id))
        return len(executions)

    def _finished(self, execution_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(execution_id, None)
        self._wakeup.set()  # a slot is free again

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if self._running:
                await self._renew()

    async def _renew(self) -> None:
        running = dict(self._running)
        try:
            renewed = await self._store.renew_claims(
                self.worker_id, list(running), lease_seconds=self._lease, now=_now()
            )
        except StorageUnavailable as exc:
            log.warning("cannot renew claims: %s", exc)
            return
        for execution_id, task in running.items():
            # Not renewed: it was canceled (API/CLI), deleted, or its claim lapsed and another
            # worker took it over. Running on would override the cancel or run it twice.
            # One that finished meanwhile is not renewed either; its task is done or about to be.
            if execution_id not in renewed and self._running.get(execution_id) is task:
                log.info("execution %s stopped here: canceled or taken over", execution_id)
                task.cancel()

    async def _run(self, execution: Execution) -> None:
        try:
            await self._execute(execution)
        except StorageUnavailable as exc:
            # The claim expires and the execution is taken over later; nothing is lost.
            log.warning("execution %s paused, storage unavailable: %s", execution.id, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("execution %s failed inside the engine", execution.id)
            await self._store.finish_execution(
                execution.id, ExecutionStatus.ERROR, finished_at=_now(), error="internal engine error"
            )

    async def _execute(self, execution: Execution) -> None:
        compiled = await self._flows.version(execution.workflow_id)
        if compiled is None:
            await self._store.finish_execution(
                execution.id,
                ExecutionStatus.ERROR,
                finished_at=_now(),
                error="the workflow version of this execution no longer exists",
            )
            return
        previous = await self._store.list_jobs(execution.id) if execution.attempt > 1 else []
        processor = Processor(
            compiled.flow.workflow,
            compiled.graph,
            execution,
            self._store.add_job,
            previous_jobs=previous,
            env=self._env,
            observe=self._metrics.job_finished,
        )
        result = await processor.run()
        finished = replace(execution, status=result.status, finished_at=_now(), error=result.error)
        await self._store.finish_execution(
            execution.id,
            result.status,
            finished_at=finished.finished_at or _now(),
            response=result.answer.to_json() if result.answer else None,
            error=result.error,
            jobs=[result.final_job] if result.final_job else [],
        )
        self._metrics.execution_finished(finished)


def _now() -> datetime:
    return datetime.now(UTC)
