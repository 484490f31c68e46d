"""The processor: walks one execution through its workflow graph, one node at a time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from hookline.engine.assignments import apply_job, checked_assignment, results_by_node_key
from hookline.engine.graph import Graph
from hookline.engine.scope import build_scope
from hookline.engine.templates import render
from hookline.ids import instance_id, new_id
from hookline.models import Answer, Execution, ExecutionStatus, Job, JobStatus, Node, Workflow
from hookline.nodes.base import Outcome, Resources, Wait, WaitReason
from hookline.nodes.registry import node_type
from hookline.types import JsonValue

log = logging.getLogger(__name__)

ATTEMPT = "attempt"
"""Job meta: the node's attempt (from 1) when it took more than one (a retry after a wait)."""
WAITING_UNTIL = "waitingUntil"
"""Job meta of a pending job: when its node is called again (ISO 8601)."""
WAIT_REASON = "waitReason"
"""Job meta of a pending job: why it waits (`delay` or `retry`)."""


class JobRecorder(Protocol):
    """Where the jobs of a run go before the processor moves on (the store)."""

    async def add_job(self, job: Job) -> None:
        """Durably record a new job."""
        ...

    async def update_job(self, job: Job) -> None:
        """Durably replace the pending job with the same id."""
        ...


@dataclass(slots=True)
class RunResult:
    """How an execution ended: its status, the answer a node gave, and its last job."""

    status: ExecutionStatus
    answer: Answer | None = None
    final_job: Job | None = None
    error: str | None = None
    timed_out: bool = False
    wait: Wait | None = None
    """Set when the execution waits (status `waiting`): `final_job` is then the pending job."""
    final_job_exists: bool = False
    """`final_job` replaces a pending job recorded earlier (same id), rather than being new."""


@dataclass(slots=True)
class _Stop:
    """Raised through the walk's return values: the execution ends (or waits) here."""

    status: ExecutionStatus
    answer: Answer | None = None
    job: Job | None = None
    wait: Wait | None = None
    job_exists: bool = False


@dataclass(slots=True)
class _NodeRun:
    """The context a node sees while it runs (see `NodeContext`)."""

    workflow: Workflow
    node: Node
    scope: Mapping[str, Any]
    execution_id: int
    job_id: int
    attempt: int
    previous: Job | None
    deadline: float | None
    log: logging.LoggerAdapter[logging.Logger]
    shared: Resources | None

    @property
    def resources(self) -> Resources:
        """The process's shared resources; a run started without them (a bare worker pool) has none."""
        if self.shared is None:
            raise RuntimeError("this run has no shared resources (no outbound HTTP client)")
        return self.shared

    def render(self, value: JsonValue) -> JsonValue:
        """Resolve placeholders in a config value against the execution's scope."""
        return render(value, self.scope)


@dataclass(slots=True)
class Processor:
    """Runs one execution. Jobs that finished in an earlier attempt are reused, not rerun.

    Every job run is kept in `jobs`. A job that does not end the execution is also handed
    to `sink` (when given) before the next node starts; the job that ends it is returned in
    `RunResult.final_job`, so the caller can store it with the final status in one transaction.

    A node may ask to be called again later (`Outcome.wait`). In an asynchronous execution the
    run stops there with status `waiting` and the pending job as `final_job`, for the caller to
    record with the suspension; resumed, the node is called with that job as `ctx.previous`
    and its job keeps its id. A synchronous execution never suspends: it waits in place.
    """

    workflow: Workflow
    graph: Graph
    execution: Execution
    sink: JobRecorder | None = None
    previous_jobs: Sequence[Job] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    observe: Callable[[Node, Job], None] | None = None
    """Called with every job as it finishes (metrics, logging)."""
    resources: Resources | None = None
    """What the nodes share in this process (the outbound HTTP client)."""
    jobs: list[Job] = field(default_factory=list)
    _done: dict[int, Job] = field(init=False, default_factory=dict)
    _pending: dict[int, Job] = field(init=False, default_factory=dict)
    _results: dict[str, JsonValue] = field(init=False, default_factory=dict)
    _scope: Mapping[str, Any] = field(init=False, default_factory=dict)
    _deadline: float | None = field(init=False, default=None)

    async def run(self) -> RunResult:
        """Walk the graph from its head and say how the execution ended.

        With the workflow option `timeout` (ms), a run that takes longer is stopped and
        ends `aborted` with the error `timeout`.
        """
        timeout_ms = self.timeout_ms
        if not timeout_ms:
            return await self._walk()  # an unarmed asyncio.timeout still costs a few µs per run
        self._deadline = time.monotonic() + timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout_ms / 1000):
                return await self._walk()
        except TimeoutError:
            return RunResult(ExecutionStatus.ABORTED, error="timeout", timed_out=True)

    @property
    def timeout_ms(self) -> int:
        """The workflow's time limit in milliseconds; 0 means none."""
        value = self.workflow.options.get("timeout") or 0
        return value if isinstance(value, int) and value > 0 else 0

    async def _walk(self) -> RunResult:
        self._done = {}
        self._pending = {}
        for job in self.previous_jobs:
            (self._pending if job.status is JobStatus.PENDING else self._done)[job.node_id] = job
        self._results = results_by_node_key(self.previous_jobs)  # assignments applied in order
        self._scope = build_scope(
            context=self.execution.context,
            jobs_by_node_key=self._results,
            env=self.env,
            instance_id=instance_id(),
        )
        stop = await self._run_chain(self.graph.head)
        if stop is None:
            return RunResult(ExecutionStatus.RESOLVED)
        if stop.wait is not None:
            return RunResult(
                ExecutionStatus.WAITING, final_job=stop.job, wait=stop.wait, final_job_exists=stop.job_exists
            )
        error = _error_text(stop.job) if stop.status is not ExecutionStatus.RESOLVED else None
        return RunResult(stop.status, stop.answer, stop.job, error, final_job_exists=stop.job_exists)

    async def _run_chain(self, node: Node | None) -> _Stop | None:
        while node is not None:
            stop, branch = await self._step(node)
            if stop is not None:
                return stop
            head = self.graph.branch_head(node, branch) if branch is not None else None
            if head is not None and (stop := await self._run_chain(head)) is not None:
                return stop
            node = self.graph.downstream(node)
        return None

    async def _step(self, node: Node) -> tuple[_Stop | None, int | None]:
        """Run one node (or replay its earlier job); say whether to stop and which branch to take."""
        earlier = self._done.get(node.id)
        if earlier is not None:
            return self._replay(earlier)
        pending = self._pending.pop(node.id, None)
        exists = pending is not None  # a pending job recorded by an earlier run: updated, not added
        outcome, job = await self._attempt(node, pending)
        while outcome.wait is not None and self.workflow.sync:
            # A synchronous caller is waiting on this run: wait in place (within the workflow's
            # timeout, which the surrounding asyncio.timeout enforces) and call the node again.
            await asyncio.sleep(max(0.0, (outcome.wait.until - _now()).total_seconds()))
            outcome, job = await self._attempt(node, job)
        self.jobs.append(job)
        if outcome.wait is not None:
            return _Stop(ExecutionStatus.WAITING, job=job, wait=outcome.wait, job_exists=exists), None
        if outcome.meta:  # only a node's own meta can assign a variable (see `apply_job`)
            apply_job(self._results, job)
        else:
            self._results[node.key] = job.result
        if self.observe is not None:
            self.observe(node, job)
        if outcome.ends or outcome.status is not JobStatus.RESOLVED:
            stop = _Stop(outcome.status.to_execution_status(), outcome.answer, job, job_exists=exists)
            if outcome.branch is not None and not outcome.ends:
                # A failing node may still name a branch to run first (a default branch).
                head = self.graph.branch_head(node, outcome.branch)
                stop = (await self._run_chain(head) if head else None) or stop
            return stop, None
        if self.sink is not None:
            await (self.sink.update_job(job) if exists else self.sink.add_job(job))
        return None, outcome.branch

    async def _attempt(self, node: Node, previous: Job | None) -> tuple[Outcome, Job]:
        """Call the node once (again, after a wait, with its pending job) and build its job.

        The job keeps the pending job's id and start time, so a node that waited and retried
        is one job with its attempt count, not one job per attempt.
        """
        attempt = _next_attempt(previous)
        job_id = previous.id if previous is not None else new_id()
        outcome = await self._outcome(node, job_id, attempt, previous)
        meta = dict(outcome.meta)
        if outcome.branch is not None:
            meta["branch"] = outcome.branch
        if outcome.ends:
            meta["ends"] = True
        if attempt > 1:
            meta[ATTEMPT] = attempt
        if outcome.wait is not None:
            meta[WAITING_UNTIL] = outcome.wait.until.isoformat()
            meta[WAIT_REASON] = outcome.wait.reason.value
        status = JobStatus.PENDING if outcome.wait is not None else outcome.status
        job = Job(
            id=job_id,
            execution_id=self.execution.id,
            node_id=node.id,
            node_key=node.key,
            status=status,
            result=outcome.result,
            meta=meta,
            started_at=previous.started_at if previous is not None else _now(),
            finished_at=None if outcome.wait is not None else _now(),
        )
        return outcome, job

    def _replay(self, job: Job) -> tuple[_Stop | None, int | None]:
        """Follow what a job from an earlier attempt decided, without running its node again."""
        if job.status is not JobStatus.RESOLVED or job.meta.get("ends"):
            return _Stop(job.status.to_execution_status(), None, None), None
        branch = job.meta.get("branch")
        return None, branch if isinstance(branch, int) else None

    async def _outcome(self, node: Node, job_id: int, attempt: int, previous: Job | None) -> Outcome:
        """The node's outcome; an unknown type or an exception becomes an `error` outcome."""
        kind = node_type(node.type)
        if kind is None:
            return Outcome(JobStatus.ERROR, {"message": f"Unknown node type {node.type!r}."})
        context = _NodeRun(
            self.workflow,
            node,
            self._scope,
            self.execution.id,
            job_id,
            attempt,
            previous,
            self._deadline,
            logging.LoggerAdapter(log, {"execution": self.execution.id, "node": node.key}),
            self.resources,
        )
        try:
            outcome = await kind.run(node.config, context)
        except Exception as exc:  # a node must never crash the engine
            log.info("node %s of execution %s raised %r", node.key, self.execution.id, exc)
            return Outcome(JobStatus.ERROR, {"message": _describe(exc)})
        return checked_assignment(self.graph, node, outcome) if outcome.meta else outcome


def _next_attempt(previous: Job | None) -> int:
    """The attempt a node call is: 1, one more after a wait for a retry, the same after a delay."""
    if previous is None:
        return 1
    attempt = previous.meta.get(ATTEMPT)
    done = attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 1
    return done + 1 if previous.meta.get(WAIT_REASON) == WaitReason.RETRY.value else done


def _describe(exc: Exception) -> str:
    """One line about an exception, without a stack trace."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error_text(job: Job | None) -> str | None:
    if job is None:
        return None
    result = job.result
    if isinstance(result, dict) and isinstance(result.get("message"), str):
        return f"node {job.node_key}: {result['message']}"
    return f"node {job.node_key} ended with status {job.status.value}"


def _now() -> datetime:
    return datetime.now(UTC)
