"""The processor: walks one execution through its workflow graph, one node at a time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from hookline.engine.assignments import apply_job, checked_assignment, results_by_node_key
from hookline.engine.graph import Graph
from hookline.expressions.scope import build_scope
from hookline.expressions.templates import render
from hookline.ids import instance_id, new_id
from hookline.models import Answer, ExecutionStatus, Job, JobStatus, Node, Workflow
from hookline.nodes.base import (
    Checkpoint,
    Fork,
    ForkMode,
    ItemFailure,
    Iteration,
    Outcome,
    Resources,
    Wait,
    WaitReason,
)
from hookline.nodes.registry import node_type
from hookline.types import JsonObject, JsonValue

log = logging.getLogger(__name__)

ATTEMPT = "attempt"
"""Job meta: the node's attempt (from 1) when it took more than one (a retry after a wait)."""
WAITING_UNTIL = "waitingUntil"
"""Job meta of a pending job: when its node is called again (ISO 8601)."""
WAIT_REASON = "waitReason"
"""Job meta of a pending job: why it waits (`delay` or `retry`)."""
ITERATION = "iteration"
"""Job meta of a job inside a loop: its frame, `<loop key>#<index>/` per enclosing loop."""


class JobRecorder(Protocol):
    """Where the jobs of a run go before the processor moves on (the store)."""

    async def add_jobs(self, jobs: Sequence[Job]) -> None:
        """Durably record new jobs, in this order, in one transaction."""
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
    handoff: bool = False
    """The caller got `answer` from a response that continues: record the execution queued, unfinished."""
    final_job_exists: bool = False
    """`final_job` replaces a pending job recorded earlier (same id), rather than being new."""
    unrecorded: list[Job] = field(default_factory=list)
    """Finished jobs of nodes without outside effects not handed to the sink yet, in order: the
    caller records them with the final status (before `final_job`). Empty when the run waits."""

    def last_jobs(self) -> tuple[list[Job], list[Job]]:
        """What the caller records with the final status: the new jobs in order, and the replaced ones."""
        final = self.final_job
        if final is None:
            return self.unrecorded, []
        if self.final_job_exists:
            return self.unrecorded, [final]
        return [*self.unrecorded, final], []


@dataclass(slots=True)
class _Stop:
    """Raised through the walk's return values: the execution ends (or waits) here."""

    status: ExecutionStatus
    answer: Answer | None = None
    job: Job | None = None
    wait: Wait | None = None
    job_exists: bool = False
    recorded: bool = False
    """`job` was recorded by an earlier run (a replayed failure inside a loop): not to record again."""
    handoff: bool = False
    """A response that lets the workflow continue answered the caller: the rest runs in the background."""

    @property
    def pauses(self) -> bool:
        """The run stops here but the execution goes on later (a wait, or a handoff to the workers)."""
        return self.wait is not None or self.handoff


@dataclass(slots=True)
class _NodeRun:
    """The context a node sees while it runs (see `NodeContext`).

    Built for every node a run reaches, so what most nodes never ask for (the logger, the step
    key) is made only when asked.
    """

    run: Processor
    node: Node
    scope: Mapping[str, Any]
    frame: str
    job_id: int
    attempt: int
    previous: Job | None

    @property
    def workflow(self) -> Workflow:
        """The workflow version this execution runs."""
        return self.run.workflow

    @property
    def execution_id(self) -> int:
        """The id of the execution this node runs in."""
        return self.run.execution_id

    @property
    def deadline(self) -> float | None:
        """The `time.monotonic()` by which the execution must end, or None."""
        return self.run.deadline

    @property
    def step_key(self) -> str:
        """The node key, plus the loop item inside loops (`post@each#2`)."""
        return f"{self.node.key}@{self.frame.rstrip('/')}" if self.frame else self.node.key

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger naming the execution and the node."""
        return logging.LoggerAdapter(log, {"execution": self.execution_id, "node": self.node.key})

    @property
    def resources(self) -> Resources:
        """The process's shared resources; a run started without them (a bare worker pool) has none."""
        shared = self.run.resources
        if shared is None:
            raise RuntimeError("this run has no shared resources (no outbound HTTP client)")
        return shared

    def render(self, value: JsonValue) -> JsonValue:
        """Resolve placeholders in a config value against the execution's scope."""
        return render(value, self.scope)


@dataclass(slots=True)
class Processor:
    """Runs one execution. Jobs that finished in an earlier attempt are reused, not rerun.

    Every job run is kept in `jobs`. A job that does not end the execution is also handed
    to `sink` (when given) before the next node starts; the job that ends it is returned in
    `RunResult.final_job`, so the caller can store it with the final status in one transaction.
    The job of a node without outside effects (`NodeType.outside_effects`) joins the sink's next
    write instead (before the next node with effects, or the caller's final one: `RunResult.unrecorded`).

    A node may ask to be called again later (`Outcome.wait`). In an asynchronous execution the
    run stops there with status `waiting` and the pending job as `final_job`, for the caller to
    record with the suspension; resumed, the node is called with that job as `ctx.previous`
    and its job keeps its id. A synchronous execution never suspends: it waits in place.
    """

    workflow: Workflow
    graph: Graph
    execution_id: int
    context: JsonObject
    """The execution's trigger context (`$context`)."""
    sink: JobRecorder | None = None
    previous_jobs: Sequence[Job] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    observe: Callable[[Node, Job], None] | None = None
    """Called with every job as it finishes (metrics, logging)."""
    resources: Resources | None = None
    """What the nodes share in this process (the outbound HTTP client)."""
    caller_waiting: bool = False
    """A synchronous caller waits for this run's answer: retries wait in place and a response that
    continues hands the rest over (`RunResult.handoff`). False in workers, even for a sync workflow."""
    timeout_ms: int = field(kw_only=True)
    """The workflow's time limit in milliseconds (`WorkflowOptions.timeout_ms`); 0 means none."""
    jobs: list[Job] = field(default_factory=list)
    _done: dict[_Place, Job] = field(init=False)
    """Jobs finished by an earlier run, by node and loop frame."""
    _pending: dict[_Place, Job] = field(init=False)
    """Pending jobs of an earlier run (a node that waits), by node and loop frame."""
    _results: dict[str, JsonValue] = field(init=False)
    """Each node's result by key, as `$jobsMapByNodeKey` shows them (the three are set by `_walk`)."""
    deadline: float | None = field(init=False, default=None)
    """The `time.monotonic()` by which the run must end (with a timeout), for the nodes to see."""
    _unrecorded: list[Job] = field(init=False, default_factory=list)
    """Finished jobs of nodes without outside effects, for the sink's next write (only with a sink)."""

    async def run(self) -> RunResult:
        """Walk the graph from its head and say how the execution ended.

        With the workflow option `timeout` (ms), a run that takes longer is stopped and
        ends `aborted` with the error `timeout`.
        """
        timeout_ms = self.timeout_ms
        if not timeout_ms:
            result = await self._walk()  # an unarmed asyncio.timeout still costs a few µs per run
        else:
            self.deadline = time.monotonic() + timeout_ms / 1000
            try:
                async with asyncio.timeout(timeout_ms / 1000):
                    result = await self._walk()
            except TimeoutError:
                result = RunResult(ExecutionStatus.ABORTED, error="timeout", timed_out=True)
        result.unrecorded = self._unrecorded
        return result

    async def _walk(self) -> RunResult:
        self._done = {}
        self._pending = {}
        for job in self.previous_jobs:
            place = _place(job.node_id, _frame_of(job))
            (self._pending if job.status is JobStatus.PENDING else self._done)[place] = job
        self._results = results_by_node_key(self.previous_jobs)  # assignments applied in order
        scope = build_scope(
            context=self.context,
            jobs_by_node_key=self._results,
            env=self.env,
            instance_id=instance_id(),
        )
        stop = await self._run_chain(self.graph.head, _Where("", scope))
        if stop is None:
            return RunResult(ExecutionStatus.RESOLVED)
        if stop.wait is not None:
            await self._flush()  # (a wait inside a fork, after another branch's nodes without effects)
            return RunResult(
                ExecutionStatus.WAITING, final_job=stop.job, wait=stop.wait, final_job_exists=stop.job_exists
            )
        if stop.handoff:
            return RunResult(ExecutionStatus.QUEUED, stop.answer, handoff=True)
        error = _error_text(stop.job) if stop.status is not ExecutionStatus.RESOLVED else None
        final = None if stop.recorded else stop.job
        return RunResult(stop.status, stop.answer, final, error, final_job_exists=stop.job_exists)

    async def _run_chain(self, node: Node | None, where: _Where) -> _Stop | None:
        while node is not None:
            stop, branch = await self._step(node, where)
            if stop is not None:
                return stop
            head = self.graph.branch_head(node, branch) if branch is not None else None
            if head is not None and (stop := await self._run_chain(head, where)) is not None:
                return stop
            node = self.graph.downstream(node)
        return None

    async def _step(self, node: Node, where: _Where) -> tuple[_Stop | None, int | None]:
        """Run one node (or replay its earlier job); say whether to stop and which branch to take."""
        place = (node.id, where.frame) if where.frame else node.id  # `_place`, inline: once per node
        earlier = self._done.get(place) if self._done else None
        if earlier is not None:
            return self._replay(earlier)
        pending = self._pending.pop(place, None) if self._pending else None
        exists = pending is not None  # a pending job recorded by an earlier run: updated, not added
        if pending is not None and _not_due(pending):
            # Resumed before its time (another branch of a fork was due first): it waits on.
            self.jobs.append(pending)
            return _Stop(ExecutionStatus.WAITING, job=pending, wait=_wait_of(pending), job_exists=True), None
        if self._unrecorded and _has_effects(node):
            await self._flush()  # what ran before a node with effects is committed before it starts
        outcome, job = await self._attempt(node, pending, where)
        while outcome.wait is not None and self.caller_waiting:
            # A synchronous caller is waiting on this run: wait in place (within the workflow's
            # timeout, which the surrounding asyncio.timeout enforces) and call the node again.
            await asyncio.sleep(max(0.0, (outcome.wait.until - _now()).total_seconds()))
            outcome, job = await self._attempt(node, job, where)
        if outcome.wait is not None:
            self.jobs.append(job)
            return _Stop(ExecutionStatus.WAITING, job=job, wait=outcome.wait, job_exists=exists), None
        if outcome.iterate is not None or outcome.fork is not None:
            if self.sink is not None and not exists:
                # Recorded pending before its branches run: resumed after a wait or a crash, the
                # node finds this job again and keeps its id (and its place before their jobs).
                await self._record(replace(job, status=JobStatus.PENDING, finished_at=None), False)
                exists = True
            if outcome.iterate is not None:
                ran = await self._iterate(node, outcome.iterate, job, where)
            else:
                ran = await self._fork(node, outcome.fork or Fork(), job, where)
            if isinstance(ran, _Stop):
                if exists and not ran.pauses:
                    # A node inside ended the whole execution: the loop or fork ends with it.
                    status = ran.job.status if ran.job is not None else JobStatus.CANCELED
                    await self._record(replace(job, status=status, finished_at=_now()), exists)
                return ran, None  # a wait inside, or a node that ends the whole execution
            outcome, job = ran
        self.jobs.append(job)
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
                stop = (await self._run_chain(head, where) if head else None) or stop
            return stop, None
        if self.sink is not None:
            if exists or _has_effects(node):
                await self._record(job, exists)
            else:
                self._unrecorded.append(job)
        if outcome.answer is not None and self.caller_waiting:
            # A response that lets the workflow continue: the caller is answered now, the rest runs
            # in the background once the execution (with the jobs so far) is recorded queued.
            return _Stop(ExecutionStatus.QUEUED, outcome.answer, job, handoff=True), None
        return None, outcome.branch

    async def _record(self, job: Job, exists: bool) -> None:
        """Hand a job that does not end the execution to the sink, after the jobs waiting for its next write.

        A new job goes in the same write as those.
        """
        if self.sink is None:
            return
        if exists:
            await self._flush()
            await self.sink.update_job(job)
            return
        jobs, self._unrecorded = [*self._unrecorded, job], []
        await self.sink.add_jobs(jobs)

    async def _flush(self) -> None:
        """Hand the jobs of nodes without outside effects to the sink now, in one write."""
        if self._unrecorded and self.sink is not None:
            jobs, self._unrecorded = self._unrecorded, []
            await self.sink.add_jobs(jobs)

    async def _iterate(
        self, node: Node, iteration: Iteration, job: Job, where: _Where
    ) -> tuple[Outcome, Job] | _Stop:
        """Run a loop node's branch once per item; its outcome and job, or the stop that cut it short.

        Each item's jobs are recorded under the item's frame, so a run resumed after a crash or a
        wait replays the items that finished and goes on at the one it was on.
        """
        head = self.graph.branch_head(node, 0)
        length = len(iteration.items)
        looped = done = 0
        broken = False
        status = JobStatus.RESOLVED
        for index, item in enumerate(iteration.items):
            values: JsonObject = {"item": item, "index": index, "sequence": index + 1, "length": length}
            inner = where.enter(node.key, index, values)
            try:
                allowed = self._item_allowed(node, iteration, job, inner, index)
            except Exception as exc:  # the loop's condition could not be evaluated: its job says why
                failed: JsonObject = {
                    "message": f"condition of item {index}: {_describe(exc)}",
                    "looped": looped,
                }
                return Outcome(JobStatus.ERROR, failed), replace(job, status=JobStatus.ERROR, result=failed)
            if not allowed:
                if iteration.skip_on_false:
                    continue
                broken = True
                break
            looped += 1
            stop = await self._run_chain(head, inner) if head is not None else None
            if stop is None:
                done += 1
                continue
            if stop.pauses or stop.job is None or stop.job.meta.get("ends"):
                return stop  # a wait or a handoff inside, or a node that ends the whole execution
            if not stop.recorded:
                await self._record(stop.job, stop.job_exists)  # the loop's own job says how it ended
            if iteration.on_failure is ItemFailure.FAIL:
                status = stop.job.status
                break
            if iteration.on_failure is ItemFailure.BREAK:
                broken = True
                break
        result: JsonObject = {"looped": looped, "done": done, "length": length}
        if broken:
            result["broken"] = True
        finished = replace(job, status=status, result=result, finished_at=_now())
        return Outcome(status, result), finished

    async def _fork(self, node: Node, fork: Fork, job: Job, where: _Where) -> tuple[Outcome, Job] | _Stop:
        """Run every branch of a parallel node at once; its outcome and job, or the stop that cut it short.

        Branches still running once the mode has decided are canceled. A branch that waits (in an
        asynchronous run) leaves its pending job; if nothing else decides, the execution waits
        until the earliest of them, and each branch resumes where it was.
        """
        tasks = {
            asyncio.create_task(self._run_chain(head, where), name=f"branch {index}"): index
            for index, head in self.graph.branch_heads(node)
        }
        settled: dict[int, JobStatus] = {}
        waits: list[_Stop] = []
        decided: JobStatus | None = None if tasks else JobStatus.RESOLVED
        try:
            while tasks and decided is None:
                finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    index, stop = tasks.pop(task), task.result()
                    if stop is not None and stop.wait is not None:
                        waits.append(stop)
                        continue
                    if stop is not None and (stop.handoff or stop.job is None or stop.job.meta.get("ends")):
                        return stop  # a node that ends the run (an end, a response) wins over the others
                    if stop is not None and stop.job is not None and not stop.recorded:
                        await self._record(stop.job, stop.job_exists)  # the fork's job says how it went
                    settled[index] = (
                        JobStatus.RESOLVED if stop is None or stop.job is None else stop.job.status
                    )
                decided = _decision(fork.mode, settled, open_branches=len(tasks) + len(waits))
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
        if decided is None:
            waits.sort(key=lambda stop: stop.wait.until if stop.wait else _now())
            for other in waits[1:]:
                if other.job is not None:  # every pending job is recorded; the earliest with the suspension
                    await self._record(other.job, other.job_exists)
            return waits[0]
        for stop in waits:  # decided without them: their pending jobs end as canceled
            if stop.job is not None:
                await self._record(
                    replace(stop.job, status=JobStatus.CANCELED, finished_at=_now()), stop.job_exists
                )
        branches: list[JsonValue] = [
            {"index": index, "status": status.value} for index, status in sorted(settled.items())
        ]
        result: JsonObject = {"mode": fork.mode.value, "branches": branches}
        return Outcome(decided, result), replace(job, status=decided, result=result, finished_at=_now())

    def _item_allowed(self, node: Node, iteration: Iteration, job: Job, where: _Where, index: int) -> bool:
        """Whether a loop's condition lets this item run (checked before each one, or after the first)."""
        check = iteration.keep_going
        if check is None or (index == 0 and iteration.checkpoint is Checkpoint.AFTER):
            return True
        return check(_NodeRun(self, node, where.scope, where.frame, job.id, 1, None))

    async def _attempt(self, node: Node, previous: Job | None, where: _Where) -> tuple[Outcome, Job]:
        """Call the node once (again, after a wait, with its pending job) and build its job.

        The job keeps the pending job's id and start time, so a node that waited and retried
        is one job with its attempt count, not one job per attempt.
        """
        started: datetime | None
        if previous is None:
            attempt, job_id, started = 1, new_id(), _now()
        else:
            attempt, job_id, started = _next_attempt(previous), previous.id, previous.started_at
        outcome = await self._outcome(
            node, _NodeRun(self, node, where.scope, where.frame, job_id, attempt, previous)
        )
        meta = dict(outcome.meta)
        if outcome.branch is not None:
            meta["branch"] = outcome.branch
        if outcome.ends:
            meta["ends"] = True
        wait = outcome.wait
        if attempt > 1 or where.frame or wait is not None:  # one test on the usual path
            _note_step(meta, attempt, where.frame, wait)
        job = Job(
            id=job_id,
            execution_id=self.execution_id,
            node_id=node.id,
            node_key=node.key,
            status=outcome.status if wait is None else JobStatus.PENDING,
            result=outcome.result,
            meta=meta,
            started_at=started,
            finished_at=_now() if wait is None else None,
        )
        return outcome, job

    def _replay(self, job: Job) -> tuple[_Stop | None, int | None]:
        """Follow what a job from an earlier attempt decided, without running its node again."""
        if job.status is not JobStatus.RESOLVED or job.meta.get("ends"):
            return _Stop(job.status.to_execution_status(), None, job, recorded=True), None
        branch = job.meta.get("branch")
        return None, branch if isinstance(branch, int) else None

    async def _outcome(self, node: Node, context: _NodeRun) -> Outcome:
        """The node's outcome; an unknown type or an exception becomes an `error` outcome."""
        kind = node_type(node.type)
        if kind is None:
            return Outcome(JobStatus.ERROR, {"message": f"Unknown node type {node.type!r}."})
        try:
            outcome = await kind.run(node.config, context)
        except Exception as exc:  # a node must never crash the engine
            log.info("node %s of execution %s raised %r", node.key, self.execution_id, exc)
            return Outcome(JobStatus.ERROR, {"message": _describe(exc)})
        return checked_assignment(self.graph, node, outcome) if outcome.meta else outcome


def _has_effects(node: Node) -> bool:
    """Whether a node may change something outside its execution (an unknown type is assumed to)."""
    kind = node_type(node.type)
    return kind is None or kind.outside_effects


@dataclass(frozen=True, slots=True)
class _Where:
    """Where in the run a chain of nodes runs: its loop frame ("" outside loops) and its scope."""

    frame: str
    scope: Mapping[str, Any]

    def enter(self, loop_key: str, index: int, values: JsonObject) -> _Where:
        """The place of one loop item: its frame and a scope whose `$scopes` names the item."""
        scopes = {**self.scope["$scopes"], loop_key: values}
        return _Where(f"{self.frame}{loop_key}#{index}/", {**self.scope, "$scopes": scopes})


def _decision(mode: ForkMode, settled: Mapping[int, JobStatus], *, open_branches: int) -> JobStatus | None:
    """A fork's status once its settled branches decide it, or None while it stays open."""
    statuses = list(settled.values())
    failures = [status for status in statuses if status is not JobStatus.RESOLVED]
    if mode is ForkMode.RACE:
        return statuses[0] if statuses else None
    if mode is ForkMode.ANY:
        if len(failures) < len(statuses):
            return JobStatus.RESOLVED
        return failures[-1] if failures and not open_branches else None
    if mode is ForkMode.ALL and failures:
        return failures[0]
    return JobStatus.RESOLVED if not open_branches else None


def _note_step(meta: JsonObject, attempt: int, frame: str, wait: Wait | None) -> None:
    """Add to a job's meta what only some steps have: a later attempt, a loop item, a wait."""
    if attempt > 1:
        meta[ATTEMPT] = attempt
    if frame:
        meta[ITERATION] = frame
    if wait is not None:
        meta[WAITING_UNTIL] = wait.until.isoformat()
        meta[WAIT_REASON] = wait.reason.value


def _waiting_until(job: Job) -> datetime | None:
    """When a pending job's node is due to be called again, as its meta says."""
    until = job.meta.get(WAITING_UNTIL)
    if not isinstance(until, str):
        return None
    try:
        return datetime.fromisoformat(until)
    except ValueError:
        return None


def _not_due(job: Job) -> bool:
    """A pending job whose time has not come (one waiting for an event is due whenever woken)."""
    until = _waiting_until(job)
    return until is not None and until > _now() and job.meta.get(WAIT_REASON) != WaitReason.EVENT.value


def _wait_of(job: Job) -> Wait:
    """The wait a pending job is in (its time has not come)."""
    reason = job.meta.get(WAIT_REASON)
    kind = WaitReason(reason) if isinstance(reason, str) and reason in tuple(WaitReason) else WaitReason.RETRY
    return Wait(_waiting_until(job) or _now(), kind)


_Place = int | tuple[int, str]
"""Where a job ran: its node's id, with its loop frame inside loops."""


def _place(node_id: int, frame: str) -> _Place:
    """A job's place; the node id alone outside loops (no tuple to build for most nodes)."""
    return (node_id, frame) if frame else node_id


def _frame_of(job: Job) -> str:
    """The loop frame a job ran in ("" outside any loop)."""
    frame = job.meta.get(ITERATION)
    return frame if isinstance(frame, str) else ""


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
