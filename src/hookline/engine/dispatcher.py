"""The dispatcher: runs a synchronous execution inline, or queues an asynchronous one durably."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hookline.engine.flows import CompiledFlow
from hookline.engine.processor import Processor
from hookline.engine.scope import build_scope
from hookline.ids import new_id
from hookline.metrics import Metrics
from hookline.models import Answer, Execution, ExecutionStatus
from hookline.store.base import Store
from hookline.trigger.responses import configured_answer, outcome_answer, timeout_answer
from hookline.types import JsonObject


@dataclass(frozen=True, slots=True)
class Dispatched:
    """An execution (finished, or queued) and the answer its caller gets."""

    execution: Execution
    answer: Answer


class Dispatcher:
    """Turns trigger events into executions; `wake` tells the local workers there is work."""

    def __init__(
        self,
        store: Store,
        *,
        env: Mapping[str, str] | None = None,
        wake: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._env = dict(env or {})
        self._wake = wake or (lambda: None)
        self._metrics = metrics or Metrics()

    def wake(self) -> None:
        """Tell the local workers that there is queued work."""
        self._wake()

    async def run_sync(self, compiled: CompiledFlow, context: JsonObject) -> Dispatched:
        """Run the workflow now, record the execution with its jobs, and give the answer."""
        workflow = compiled.flow.workflow
        started = _now()
        execution = Execution(
            id=new_id(),
            workflow_id=workflow.id,
            key=workflow.key,
            event_key=uuid.uuid4().hex,
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
        finished = replace(
            execution,
            status=result.status,
            error=result.error,
            response=answer.to_json(),
            finished_at=_now(),
        )
        await self._store.add_execution(finished, processor.jobs)
        self._metrics.execution_finished(finished)
        return Dispatched(finished, answer)

    async def enqueue(self, compiled: CompiledFlow, context: JsonObject) -> Dispatched:
        """Durably record a queued execution with the answer it gets; safe to answer once this returns."""
        workflow = compiled.flow.workflow
        answer = configured_answer(workflow.config, build_scope(context=context, jobs_by_node_key={}))
        execution = Execution(
            id=new_id(),
            workflow_id=workflow.id,
            key=workflow.key,
            event_key=uuid.uuid4().hex,
            context=context,
            status=ExecutionStatus.QUEUED,
            created_at=_now(),
            response=answer.to_json(),
        )
        await self._store.add_execution(execution)
        self.wake()
        return Dispatched(execution, answer)


def _now() -> datetime:
    return datetime.now(UTC)
