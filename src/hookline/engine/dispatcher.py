"""The dispatcher: runs a synchronous execution inline, or queues an asynchronous one durably.

It also applies a workflow's back-pressure options (docs/reference/execution.md#concurrency):
an asynchronous workflow's `queueLimit` is checked by the store as the execution is queued (its
`concurrency` is kept with it for the workers), while a synchronous workflow's `concurrency`
bounds the runs of this process, since a synchronous run is recorded only when it ends. The
default queue limits (of a workflow without `queueLimit`, and of all workflows together) are
checked against the process's `Backlog` before anything is written. Over a limit the caller gets
`429` with `Retry-After`, and nothing is recorded.

A request with an idempotency key (`options.dedupe`, see `trigger.dedupe`) goes through
`dispatch_once`: it runs only when it can claim the key; otherwise it gets the answer of the
execution holding the key. Requests without one never touch the dedupe keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from hookline.answers import invalid_answer, outcome_answer, timeout_answer
from hookline.engine.flows import CompiledFlow
from hookline.engine.processor import Processor
from hookline.errors import RejectedRequest
from hookline.expressions.scope import build_scope
from hookline.header_fields import Unsendable
from hookline.ids import new_id
from hookline.metrics import Metrics
from hookline.models import (
    Answer,
    Claim,
    DedupeHolder,
    DedupeKey,
    Execution,
    ExecutionStatus,
    Job,
    Limits,
    Workflow,
)
from hookline.nodes.base import Resources
from hookline.store.backlog import Backlog
from hookline.store.base import Store
from hookline.trigger.dedupe import RequestKey
from hookline.types import JsonObject

log = logging.getLogger(__name__)

CLAIM_GRACE = 30.0
"""Seconds a synchronous run holds its key beyond the workflow's timeout before it is recorded."""
CLAIM_WITHOUT_TIMEOUT = 120.0
"""Seconds a synchronous run of a workflow without a timeout holds its key before it is recorded."""
DUPLICATE_WAIT = 30.0
"""Seconds a duplicate waits for a running original without a timeout (else: that timeout)."""


NO_LIMITS = Limits()
"""The limits of a workflow without any: what a claimed insert records for it."""


class Starter(Protocol):
    """The workers of this process, able to run a new execution at once (`queue.worker.WorkerPool`)."""

    def claim_new(self) -> Claim | None:
        """A claim to insert a new execution under, or None to queue it as usual."""
        ...

    def start_claimed(self, execution: Execution) -> None:
        """Run the execution inserted under that claim, now committed."""
        ...

    def unclaim(self) -> None:
        """Give back a claim whose execution was not stored."""
        ...


@dataclass(frozen=True, slots=True)
class Dispatched:
    """An execution (finished, or queued) and the answer its caller gets."""

    execution: Execution
    answer: Answer


@dataclass(frozen=True, slots=True)
class Answered:
    """The answer to a request with an idempotency key: its own execution's, or its original's."""

    execution_id: int
    answer: Answer
    duplicate: bool
    """True when an earlier execution held the key: nothing ran, its answer is repeated."""


class Dispatcher:
    """Turns trigger events into executions; `wake` tells the local workers there is work.

    `retry_after` is the `Retry-After` (seconds) of a `429` answered over a workflow's limit.
    `backlog` applies the default queue limits (per workflow and in all); without one, only the
    workflows' own `queueLimit` does. With a `starter`, a queued execution that the local workers
    can run at once is inserted claimed by them and handed over once committed, skipping the queue.
    With `run_before_answer`, `enqueue(..., may_run_now=True)` runs a workflow without outside
    effects at once and records it finished instead (see `_run_before_answer`).
    """

    def __init__(
        self,
        store: Store,
        *,
        env: Mapping[str, str] | None = None,
        wake: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
        retry_after: int = 1,
        backlog: Backlog | None = None,
        resources: Resources | None = None,
        starter: Starter | None = None,
        run_before_answer: bool = False,
    ) -> None:
        self._store = store
        self._run_before = run_before_answer
        self._resources = resources
        self._starter = starter
        self._backlog = backlog
        self._env = dict(env or {})
        self._wake = wake or (lambda: None)
        self._metrics = metrics or Metrics()
        self._retry_after = {"Retry-After": str(max(1, retry_after))}
        self._sync_running: dict[str, int] = {}
        """How many synchronous runs of each key with a concurrency limit this process runs now."""

    def wake(self) -> None:
        """Tell the local workers that there is queued work."""
        self._wake()

    async def run_sync(
        self,
        compiled: CompiledFlow,
        context: JsonObject,
        execution_id: int | None = None,
        *,
        event_key: str | None = None,
    ) -> Dispatched:
        """Run the workflow now, record the execution with its jobs, and give the answer.

        With `options.concurrency`, a run beyond that many of its key in this process is
        refused with `429` (nothing runs, nothing is recorded). `execution_id`, when given, is
        the id to record it under (chosen before, for what the request stored first: its files);
        `event_key` the unique key to record it under (a subflow's names its parent step).
        """
        execution_id = execution_id or new_id()
        return await self._run_sync_limited(compiled, context, execution_id, event_key or _event_key())

    async def _run_sync_limited(
        self,
        compiled: CompiledFlow,
        context: JsonObject,
        execution_id: int,
        event_key: str,
        dedupe: RequestKey | None = None,
    ) -> Dispatched:
        """`run_sync` with the execution's id and event key (and the key it claimed) chosen already."""
        workflow = compiled.flow.workflow
        limits = compiled.limits
        if limits is None or limits.concurrency is None:
            return await self._run_sync(compiled, context, execution_id, event_key, dedupe)
        key, running = workflow.key, self._sync_running.get(workflow.key, 0)
        if running >= limits.concurrency:
            raise self._busy(
                "concurrency_limit",
                f"This workflow already runs {running} requests at once, its limit; try again later.",
            )
        self._sync_running[key] = running + 1
        try:
            return await self._run_sync(compiled, context, execution_id, event_key, dedupe)
        finally:
            left = self._sync_running[key] - 1
            if left:
                self._sync_running[key] = left
            else:
                del self._sync_running[key]

    async def _run_sync(
        self,
        compiled: CompiledFlow,
        context: JsonObject,
        execution_id: int,
        event_key: str,
        dedupe: RequestKey | None,
    ) -> Dispatched:
        """Run the workflow now, record the execution with its jobs (and its answer under `dedupe`)."""
        workflow = compiled.flow.workflow
        started = _now()
        processor = self._processor(compiled, context, execution_id, caller_waiting=True)
        result = await processor.run()
        if result.handoff and result.answer is not None:
            # Started already: the worker that claims it sees that it ran before (`_ran_before`).
            queued = _execution(workflow, execution_id, event_key, context, result.answer, started, started)
            return await self._hand_off(queued, processor.jobs, result.answer, dedupe)
        if result.timed_out:
            answer = timeout_answer(processor.timeout_ms, execution_id)
        else:
            answer = result.answer or outcome_answer(result.status, execution_id)
        # Only now is the execution built: the processor needs its id and context alone.
        finished = _execution(
            workflow, execution_id, event_key, context, answer, started, started, result.status, result.error
        )
        if dedupe is None:
            await self._store.add_execution(finished, processor.jobs)
        else:  # the key now holds this answer for the whole window, from the end of the run
            held = DedupeKey(dedupe.digest, _after(finished.finished_at, dedupe.window))
            await self._store.add_execution(finished, processor.jobs, dedupe=held)
        self._metrics.execution_finished(finished)
        return Dispatched(finished, answer)

    async def _hand_off(
        self, queued: Execution, jobs: list[Job], answer: Answer, dedupe: RequestKey | None
    ) -> Dispatched:
        """Record a synchronous run that answered early queued, with its jobs, for the workers to go on.

        A response that lets the workflow continue gave `answer`: the execution is committed with
        that answer and the jobs so far before the caller hears it, so the rest cannot be lost. A
        worker claims it (its first attempt: `attempt` 0 until then) and resumes after the response node.
        """
        if dedupe is None:
            await self._store.add_execution(queued, jobs)
        else:  # a duplicate within the window gets this same early answer
            held = DedupeKey(dedupe.digest, _after(_now(), dedupe.window))
            await self._store.add_execution(queued, jobs, dedupe=held)
        self.wake()
        return Dispatched(queued, answer)

    async def enqueue(
        self,
        compiled: CompiledFlow,
        context: JsonObject,
        execution_id: int | None = None,
        *,
        event_key: str | None = None,
        may_run_now: bool = False,
    ) -> Dispatched:
        """Durably record a queued execution with the answer it gets; safe to answer once this returns.

        A full queue is refused with `429 queue_full` and nothing is recorded: the workflow's
        (`options.queueLimit`, or else the default queue limit) or that of all workflows together.
        `execution_id`, when given, is the id to record it under; `event_key` its unique key.
        With `may_run_now` (a webhook call) and the dispatcher's `run_before_answer`, a workflow
        without outside effects and without a concurrency limit is run first and recorded finished.
        """
        limits, key, backlog = compiled.limits, compiled.flow.workflow.key, self._backlog
        if may_run_now and self._runs_before_answer(compiled):
            execution_id = execution_id or new_id()
            ran = await self._run_before_answer(compiled, context, execution_id, event_key or _event_key())
            if ran is not None:
                finished, jobs, answer = ran
                await self._store.add_execution(finished, jobs)
                self._metrics.execution_finished(finished)
                return Dispatched(finished, answer)
        if backlog is not None:
            self._take_place(backlog, key, limits)
        claim = self._claim_new(limits)
        try:
            key_of_event = event_key or _event_key()
            execution, answer = _queued(compiled, context, execution_id or new_id(), key_of_event, claim)
            if limits is None and claim is None:
                await self._store.add_execution(execution)
            elif not await self._store.add_limited_execution(execution, limits or NO_LIMITS, claim=claim):
                raise self._queue_full(limits.queue_limit if limits is not None else None)
        except BaseException as error:
            if claim is not None and self._starter is not None:
                self._starter.unclaim()
            if backlog is not None:  # cancelled while its write is queued: it may yet be stored
                backlog.settle(key, stored=isinstance(error, asyncio.CancelledError))
            raise
        if backlog is not None:
            # One run at once never waits queued: its place in the backlog is given back.
            backlog.settle(key, stored=claim is None)
        if claim is not None and self._starter is not None:
            self._starter.start_claimed(execution)
        else:
            self.wake()
        return Dispatched(execution, answer)

    def _runs_before_answer(self, compiled: CompiledFlow) -> bool:
        """Whether a webhook call of this workflow is run before its answer (`_run_before_answer`):
        with the setting on, when no node has outside effects and no concurrency limit applies."""
        limits = compiled.limits
        return self._run_before and compiled.effect_free and (limits is None or limits.concurrency is None)

    async def _run_before_answer(
        self, compiled: CompiledFlow, context: JsonObject, execution_id: int, event_key: str
    ) -> tuple[Execution, list[Job], Answer] | None:
        """Run an asynchronous workflow without outside effects now: the execution, finished, its
        jobs and the trigger's answer, for the one write that accepts it; None when it did not end
        here (nothing is recorded then).

        The caller still gets the trigger's answer, once that write is committed, so "accepted"
        keeps meaning "committed": a crash before the write leaves no record and no answer, as a
        crash before an acceptance's commit always did. The run never reaches the queue, its claim
        and its second write: what `HOOKLINE_RUN_BEFORE_ANSWER` trades for an answer that waits for
        the nodes. A run that waits, or that the engine fails to run, is queued as usual instead:
        its nodes change nothing outside, so a worker may run them again (and a run whose
        idempotency key turns out to be held is simply dropped).
        """
        workflow = compiled.flow.workflow
        answer = _trigger_answer(compiled, context)
        started = _now()
        processor = self._processor(compiled, context, execution_id, caller_waiting=False)
        try:
            result = await processor.run()
        except Exception:  # an engine bug must not cost the event: the queue runs it again
            log.exception("execution %s failed before its answer; it is queued instead", execution_id)
            return None
        if not result.status.is_final:
            return None
        finished = _execution(
            workflow, execution_id, event_key, context, answer, started, started, result.status, result.error
        )
        return finished, processor.jobs, answer

    def _processor(
        self, compiled: CompiledFlow, context: JsonObject, execution_id: int, *, caller_waiting: bool
    ) -> Processor:
        """A processor that runs the workflow here, without a sink: its jobs are recorded at its end."""
        return Processor(
            compiled.flow.workflow,
            compiled.graph,
            execution_id,
            context,
            env=self._env,
            observe=self._metrics.job_finished,
            resources=self._resources,
            caller_waiting=caller_waiting,
            timeout_ms=compiled.options.timeout_ms,
        )

    def _claim_new(self, limits: Limits | None) -> Claim | None:
        """A claim of the local workers to run a new execution at once, unless its workflow limits how
        many run at once (the claim of the queue counts those) or no worker can take it now."""
        if self._starter is None or (limits is not None and limits.concurrency is not None):
            return None
        return self._starter.claim_new()

    async def dispatch_once(
        self,
        compiled: CompiledFlow,
        context: JsonObject,
        key: RequestKey,
        execution_id: int | None = None,
        *,
        may_run_now: bool = False,
    ) -> Answered:
        """Run or queue a request with an idempotency key, unless the key's holder answers it.

        The first request with a key claims it and runs (or is queued) as usual; its answer is
        stored with the key for the window. A duplicate meanwhile runs nothing and gets that
        answer with the holder's execution id. A duplicate of a synchronous run still going on
        waits for its answer, as long as the workflow's timeout (or `DUPLICATE_WAIT`), then is
        refused with `409 duplicate_in_progress`. `execution_id`, when given, is the id a run is
        recorded under. `may_run_now` is `enqueue`'s, for an asynchronous workflow.
        """
        execution_id = execution_id or new_id()
        if compiled.flow.workflow.sync:
            return await self._run_sync_once(compiled, context, key, execution_id)
        if may_run_now and self._runs_before_answer(compiled):
            ran = await self._run_before_answer(compiled, context, execution_id, key.event_key(execution_id))
            if ran is not None:
                return await self._record_once(*ran, key)
        return await self._enqueue_once(compiled, context, key, execution_id)

    async def _record_once(
        self, finished: Execution, jobs: list[Job], answer: Answer, key: RequestKey
    ) -> Answered:
        """Record an execution run before its answer together with its key's claim, or answer as the
        key's holder did (the run is then dropped: it changed nothing outside)."""
        dedupe = DedupeKey(key.digest, _after(finished.created_at, key.window))
        holder = await self._store.add_deduplicated_execution(
            finished, dedupe, None, now=finished.created_at, jobs=jobs
        )
        # Without limits nothing is refused for a full queue: a None holder cannot come back here.
        if holder is not None and holder.execution_id != finished.id:
            return self._repeat(holder)
        self._metrics.execution_finished(finished)
        return Answered(finished.id, answer, duplicate=False)

    async def _enqueue_once(
        self, compiled: CompiledFlow, context: JsonObject, key: RequestKey, execution_id: int
    ) -> Answered:
        """Queue the execution together with its key's claim, or answer as the key's holder did.

        A duplicate gets its original's answer even when the queue is full.
        """
        limits, workflow_key, backlog = compiled.limits, compiled.flow.workflow.key, self._backlog
        if backlog is not None:
            try:
                self._take_place(backlog, workflow_key, limits)
            except RejectedRequest:
                earlier = await self._store.get_dedupe_holder(key.digest, now=_now())
                if earlier is None:
                    raise
                return self._repeat(earlier)
        try:
            execution, answer = _queued(compiled, context, execution_id, key.event_key(execution_id))
            dedupe = DedupeKey(key.digest, _after(execution.created_at, key.window))
            holder = await self._store.add_deduplicated_execution(
                execution, dedupe, limits, now=execution.created_at
            )
        except BaseException as error:
            if backlog is not None:  # cancelled while its write is queued: it may yet be stored
                backlog.settle(workflow_key, stored=isinstance(error, asyncio.CancelledError))
            raise
        stored = holder is not None and holder.execution_id == execution.id
        if backlog is not None:
            backlog.settle(workflow_key, stored=stored)
        if holder is None:
            raise self._queue_full(limits.queue_limit if limits is not None else None)
        if not stored:
            return self._repeat(holder)
        self.wake()
        return Answered(execution.id, answer, duplicate=False)

    async def _run_sync_once(
        self, compiled: CompiledFlow, context: JsonObject, key: RequestKey, execution_id: int
    ) -> Answered:
        """Claim the key and run; or repeat its holder's answer, waiting for it while the holder runs."""
        timeout = compiled.options.timeout_seconds
        hold = timeout + CLAIM_GRACE if timeout else CLAIM_WITHOUT_TIMEOUT
        deadline = asyncio.get_running_loop().time() + (timeout or DUPLICATE_WAIT)
        while True:
            now = _now()
            claim = DedupeKey(key.digest, _after(now, hold))
            holder = await self._store.claim_dedupe_key(claim, execution_id, now=now)
            if holder.execution_id == execution_id:
                return await self._run_claimed(compiled, context, key, execution_id)
            if holder.response is None:
                waited = await self._wait_for_answer(key.digest, deadline)
                if waited is None:
                    continue  # the holder gave up its claim or let it expire: claim the key again
                holder = waited
            return self._repeat(holder)

    async def _run_claimed(
        self, compiled: CompiledFlow, context: JsonObject, key: RequestKey, execution_id: int
    ) -> Answered:
        """Run under a claimed key; when the run is not recorded, free the key for a retry at once."""
        try:
            run = await self._run_sync_limited(
                compiled, context, execution_id, key.event_key(execution_id), key
            )
        except BaseException:
            # Best effort: a key that cannot be freed now expires after its hold.
            with contextlib.suppress(Exception):
                await self._store.release_dedupe_key(key.digest, execution_id)
            raise
        return Answered(execution_id, run.answer, duplicate=False)

    async def _wait_for_answer(self, key: str, deadline: float) -> DedupeHolder | None:
        """Poll the key until its holder answers (that holder) or lets it go (None), until `deadline`.

        Past the deadline the still-running holder is returned: `_repeat` refuses with 409.
        The holder may run in another process, so the store is all there is to watch.
        """
        loop = asyncio.get_running_loop()
        pause = 0.005
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return await self._store.get_dedupe_holder(key, now=_now())
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)
            holder = await self._store.get_dedupe_holder(key, now=_now())
            if holder is None or holder.response is not None:
                return holder

    def _repeat(self, holder: DedupeHolder) -> Answered:
        """The answer a duplicate gets: its holder's; `409` while the holder has none yet."""
        if holder.response is None:
            raise RejectedRequest(
                409,
                "duplicate_in_progress",
                "A request with the same idempotency key is still running; try again later.",
                headers=self._retry_after,
            )
        return Answered(holder.execution_id, Answer.from_json(holder.response), duplicate=True)

    def _take_place(self, backlog: Backlog, key: str, limits: Limits | None) -> None:
        """Take a place in the backlog for one more queued execution of `key`; `429` past a default limit."""
        full = backlog.take(key, limits.default_queue_limit if limits is not None else None)
        if full is not None:
            raise self._queue_full(full.limit, total=full.total)

    def _queue_full(self, limit: int | None, *, total: bool = False) -> RejectedRequest:
        """The `429` of a full queue: the workflow's (at its queue limit), or that of all workflows."""
        if total:
            message = (
                f"{limit} requests are already waiting across all workflows, the limit; try again later."
            )
        else:
            message = f"This workflow already has {limit} requests waiting, its limit; try again later."
        return self._busy("queue_full", message)

    def _busy(self, code: str, message: str) -> RejectedRequest:
        """The `429` of a workflow over one of its limits, with `Retry-After`."""
        return RejectedRequest(429, code, message, headers=self._retry_after)


def _queued(
    compiled: CompiledFlow, context: JsonObject, execution_id: int, event_key: str, claim: Claim | None = None
) -> tuple[Execution, Answer]:
    """A new queued execution with the trigger's configured answer, and that answer.

    With a `claim` it is `started` instead, in its first attempt, for the claiming worker to run.

    The answer is rendered and encoded here, before anything is committed: one that cannot be
    sent is refused with `500 answer_invalid` and nothing is queued (a caller told `500` after
    its event was recorded would send it again).
    """
    workflow = compiled.flow.workflow
    answer = _trigger_answer(compiled, context)
    if claim is None:
        return _execution(workflow, execution_id, event_key, context, answer, _now()), answer
    started = ExecutionStatus.STARTED
    return _execution(workflow, execution_id, event_key, context, answer, claim.at, claim.at, started), answer


def _trigger_answer(compiled: CompiledFlow, context: JsonObject) -> Answer:
    """The trigger's configured answer for this context; `500 answer_invalid` when HTTP cannot carry it."""
    try:
        return compiled.answer.render(build_scope(context=context, jobs_by_node_key={}))
    except Unsendable as error:
        # The webhook route logs the refusal (throttled, with the workflow's URL and the reason).
        raise invalid_answer(error) from None


def _execution(
    workflow: Workflow,
    execution_id: int,
    event_key: str,
    context: JsonObject,
    answer: Answer,
    created_at: datetime,
    started_at: datetime | None = None,
    status: ExecutionStatus = ExecutionStatus.QUEUED,
    error: str | None = None,
) -> Execution:
    """The record of an execution of a workflow version that answered (or will answer) `answer`.

    Queued (no attempt yet); or in its first attempt: `started` (claimed by a local worker), or
    finished with `status` now (a synchronous run).
    """
    return Execution(
        id=execution_id,
        workflow_id=workflow.id,
        key=workflow.key,
        event_key=event_key,
        context=context,
        status=status,
        created_at=created_at,
        response=answer.to_json(),
        started_at=started_at,
        finished_at=_now() if status.is_final else None,
        attempt=0 if status is ExecutionStatus.QUEUED else 1,
        error=error,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _after(moment: datetime | None, seconds: float) -> datetime:
    """`seconds` after a moment (now when there is none)."""
    return (moment or _now()) + timedelta(seconds=seconds)


def _event_key() -> str:
    """A new UUID version 7 (RFC 9562) in hex: the time in milliseconds, then 74 random bits.

    Like the version 4 keys used before, it is unique and 32 hex digits long; being ordered by
    time, new keys land at the end of the unique index instead of on a random page of it, which
    made every insert touch (and write back to the WAL) one more page of a growing index. The bits
    need to be unique, not secret (nobody chooses or guesses a key to gain anything): they come from
    `random`, which each process seeds from the system once (and again after a fork), instead of a
    `getrandom` system call per request, which was the largest single item of a request's profile.
    """
    bits = random.getrandbits(74)
    milliseconds = time.time_ns() // 1_000_000
    value = (
        (milliseconds & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76  # version 7
        | (bits >> 62) << 64  # rand_a, 12 bits
        | 0b10 << 62  # RFC 9562 variant
        | bits & (1 << 62) - 1  # rand_b, 62 bits
    )
    return f"{value:032x}"
