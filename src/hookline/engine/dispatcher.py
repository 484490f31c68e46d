"""The dispatcher: runs a synchronous execution inline, or queues an asynchronous one durably.

It also applies a workflow's back-pressure options (§6.4): an asynchronous workflow's
`queueLimit` is checked by the store as the execution is queued (its `concurrency` is kept
with it for the workers), while a synchronous workflow's `concurrency` bounds the runs of
this process, since a synchronous run is recorded only when it ends. Over a limit the
caller gets `429` with `Retry-After`, and nothing is recorded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from hookline.engine.flows import CompiledFlow
from hookline.engine.processor import Processor
from hookline.engine.scope import build_scope
from hookline.errors import RejectedRequest
from hookline.ids import new_id
from hookline.metrics import Metrics
from hookline.models import Answer, Execution, ExecutionStatus
from hookline.store.base import Limits, Store
from hookline.trigger.responses import configured_answer, outcome_answer, timeout_answer
from hookline.types import JsonObject


@dataclass(frozen=True, slots=True)
class Dispatched:
    """An execution (finished, or queued) and the answer its caller gets."""

    execution: Execution
    answer: Answer


class Dispatcher:
    """Turns trigger events into executions; `wake` tells the local workers there is work.

    `retry_after` is the `Retry-After` (seconds) of a `429` answered over a workflow's limit.
    """

    def __init__(
        self,
        store: Store,
        *,
        env: Mapping[str, str] | None = None,
        wake: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
        retry_after: int = 1,
    ) -> None:
        self._store = store
        self._env = dict(env or {})
        self._wake = wake or (lambda: None)
        self._metrics = metrics or Metrics()
        self._retry_after = {"Retry-After": str(max(1, retry_after))}
        self._sync_running: dict[str, int] = {}
        """How many synchronous runs of each key with a concurrency limit this process runs now."""

    def wake(self) -> None:
        """Tell the local workers that there is queued work."""
        self._wake()

    async def run_sync(self, compiled: CompiledFlow, context: JsonObject) -> Dispatched:
        """Run the workflow now, record the execution with its jobs, and give the answer.

        With `options.concurrency`, a run beyond that many of its key in this process is
        refused with `429` (nothing runs, nothing is recorded).
        """
        workflow = compiled.flow.workflow
        limits = Limits.of(workflow.options)
        if limits is None or limits.concurrency is None:
            return await self._run_sync(compiled, context)
        key, running = workflow.key, self._sync_running.get(workflow.key, 0)
        if running >= limits.concurrency:
            raise self._busy(
                "concurrency_limit",
                f"This workflow already runs {running} requests at once, its limit; try again later.",
            )
        self._sync_running[key] = running + 1
        try:
            return await self._run_sync(compiled, context)
        finally:
            left = self._sync_running[key] - 1
            if left:
                self._sync_running[key] = left
            else:
                del self._sync_running[key]

    async def _run_sync(self, compiled: CompiledFlow, context: JsonObject) -> Dispatched:
        """Run the workflow now, record the execution with its jobs, and give the answer."""
        workflow = compiled.flow.workflow
        started = _now()
        execution = Execution(
            id=new_id(),
            workflow_id=workflow.id,
            key=workflow.key,
            event_key=_event_key(),
            context=context,
            status=ExecutionStatus.STARTED,
            created_at=started,
            started_at=started,
            attempt=1,
        )
        processor = Processor(
            workflow, compiled.graph, execution, env=self._env, observe=self._metrics.job_finished
        )
        result = await processor.run()
        if result.timed_out:
            answer = timeout_answer(processor.timeout_ms, execution.id)
        else:
            answer = result.answer or outcome_answer(result.status, execution.id)
        # Built directly rather than with dataclasses.replace, which is several times slower.
        finished = Execution(
            id=execution.id,
            workflow_id=execution.workflow_id,
            key=execution.key,
            event_key=execution.event_key,
            context=context,
            status=result.status,
            created_at=started,
            response=answer.to_json(),
            started_at=started,
            finished_at=_now(),
            attempt=execution.attempt,
            error=result.error,
        )
        await self._store.add_execution(finished, processor.jobs)
        self._metrics.execution_finished(finished)
        return Dispatched(finished, answer)

    async def enqueue(self, compiled: CompiledFlow, context: JsonObject) -> Dispatched:
        """Durably record a queued execution with the answer it gets; safe to answer once this returns.

        With `options.queueLimit`, a full queue (that many executions of the key waiting) is
        refused with `429` and nothing is recorded.
        """
        workflow = compiled.flow.workflow
        answer = configured_answer(workflow.config, build_scope(context=context, jobs_by_node_key={}))
        execution = Execution(
            id=new_id(),
            workflow_id=workflow.id,
            key=workflow.key,
            event_key=_event_key(),
            context=context,
            status=ExecutionStatus.QUEUED,
            created_at=_now(),
            response=answer.to_json(),
        )
        limits = Limits.of(workflow.options)
        if limits is None:
            await self._store.add_execution(execution)
        elif not await self._store.add_limited_execution(execution, limits):
            raise self._busy(
                "queue_full",
                f"This workflow already has {limits.queue_limit} requests waiting, its limit; "
                "try again later.",
            )
        self.wake()
        return Dispatched(execution, answer)

    def _busy(self, code: str, message: str) -> RejectedRequest:
        """The `429` of a workflow over one of its limits, with `Retry-After`."""
        return RejectedRequest(429, code, message, headers=self._retry_after)


def _now() -> datetime:
    return datetime.now(UTC)


def _event_key() -> str:
    """A new UUID version 7 (RFC 9562) in hex: the time in milliseconds, then 74 random bits.

    Like the version 4 keys used before, it is unique and 32 hex digits long; being ordered by
    time, new keys land at the end of the unique index instead of on a random page of it, which
    made every insert touch (and write back to the WAL) one more page of a growing index.
    """
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70  # version 7
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return raw.hex()
