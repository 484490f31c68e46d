"""Subflows: how a node starts another workflow once per step, and learns how that went.

The child execution's event key names its parent and the step (`@subflow:<parent id>:<step key>`),
so a parent resumed after a crash or a wait finds the child it started instead of starting another,
and the child shows its parent. A synchronous workflow asked to run now runs here, as a webhook
request would run it, and its answer comes back; otherwise the child is queued like any request.
"""

from __future__ import annotations

from hookline.engine.dispatcher import Dispatcher
from hookline.engine.flows import FlowCache
from hookline.errors import NodeError, RejectedRequest
from hookline.ids import new_id
from hookline.models import Execution, ExecutionStatus, subflow_event_key
from hookline.nodes.base import ChildRun
from hookline.store.base import Store
from hookline.types import JsonObject

MAX_DEPTH = 8
"""The longest chain of workflows calling workflows: beyond it a subflow node fails (a loop of calls)."""


class EngineSubflows:
    """The engine's side of `nodes.base.Subflows`: start a child, read its state."""

    def __init__(self, store: Store, flows: FlowCache) -> None:
        self._store = store
        self._flows = flows
        self._dispatcher: Dispatcher | None = None
        self._running_here: dict[int, int] = {}
        """Children running now in this process, by id, with their depth: a synchronous run is
        recorded only when it ends, so the chain of parents above it is not in the store yet."""

    def attach(self, dispatcher: Dispatcher) -> None:
        """Give the dispatcher children run or are queued through (it is built with these resources)."""
        self._dispatcher = dispatcher

    async def start(
        self, key: str, context: JsonObject, *, parent_id: int, step_key: str, run_now: bool
    ) -> ChildRun:
        """Start `key` for this parent step, or find the run it started before (see the module doc)."""
        event_key = subflow_event_key(parent_id, step_key)
        started = await self._store.get_execution_by_event_key(event_key)
        if started is not None:
            return await self._child(started)
        depth = await self._depth(parent_id) + 1
        if depth > MAX_DEPTH:
            raise NodeError(
                f"subflows nest {MAX_DEPTH} deep here: a workflow that calls itself (directly or not) "
                "must stop somewhere"
            )
        compiled = await self._flows.live(key)
        if compiled is None:
            raise NodeError(f"no enabled workflow has the key {key!r}")
        if self._dispatcher is None:
            raise NodeError("this process cannot start workflows (no dispatcher)")
        try:
            if run_now and compiled.flow.workflow.sync:
                child_id = new_id()
                self._running_here[child_id] = depth
                try:
                    ran = await self._dispatcher.run_sync(compiled, context, child_id, event_key=event_key)
                finally:
                    del self._running_here[child_id]
                return ChildRun(ran.execution.id, key, ran.execution.status, ran.answer.to_json())
            queued = await self._dispatcher.enqueue(compiled, context, event_key=event_key)
        except RejectedRequest as refused:  # its concurrency or queue limit: the parent says so
            raise NodeError(f"workflow {key!r} refused the call: {refused.message}") from None
        return ChildRun(queued.execution.id, key, ExecutionStatus.QUEUED)

    async def state(self, execution_id: int) -> ChildRun | None:
        """How a child stands now, or None once it was deleted."""
        execution = await self._store.get_execution(execution_id)
        return None if execution is None else await self._child(execution)

    async def _child(self, execution: Execution) -> ChildRun:
        """A child as the node sees it; the answer only of a synchronous workflow (its Response's)."""
        compiled = await self._flows.version(execution.workflow_id)
        sync = compiled is not None and compiled.flow.workflow.sync
        answer = execution.response if sync and execution.status.is_final else None
        return ChildRun(execution.id, execution.key, execution.status, answer)

    async def _depth(self, execution_id: int) -> int:
        """How deep an execution is in its chain of subflows: 1 when no subflow started it."""
        above = 0
        current: int | None = execution_id
        while current is not None:
            if current in self._running_here:
                return above + self._running_here[current]
            execution = await self._store.get_execution(current)
            current = execution.parent_id if execution is not None else None
            above += 1
        return above
