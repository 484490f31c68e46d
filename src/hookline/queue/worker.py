"""Workers: claim queued executions, run them concurrently, record each job, keep claims alive.

An attempt that stops because the database is unavailable releases its claim with a back-off
(`run_after`); after `max_attempts` claims an execution is not run again but ends `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import os
import random
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from hookline.engine.flows import FlowCache
from hookline.engine.processor import Processor
from hookline.errors import StorageUnavailable
from hookline.ids import new_id
from hookline.metrics import Metrics
from hookline.models import Claim, Execution, ExecutionStatus, Job
from hookline.nodes.base import Resources
from hookline.store.base import Store

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 1.0
"""The back-off ceiling after a first failed attempt; it doubles with every further attempt."""
RETRY_CAP_SECONDS = 300.0
"""The longest back-off between two attempts."""


def backoff_seconds(
    attempt: int,
    *,
    base: float = RETRY_BASE_SECONDS,
    cap: float = RETRY_CAP_SECONDS,
    draw: Callable[[float, float], float] = random.uniform,
) -> float:
    """How long to wait after failed attempt number `attempt`: full jitter below base * 2^(attempt-1), capped.

    The jitter spreads the retries of executions that failed together (one outage) over the
    whole interval, so they do not all come back at the same instant.
    """
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 32))
    return draw(0.0, ceiling)


class WorkerPool:
    """Runs up to `concurrency` asynchronous executions at once in this process.

    The executions table is the queue: the pool claims rows (with a lease it renews while
    they run), resumes each one after its last finished job, and records the final status.
    A claim that is not renewed — the process died — expires and any worker takes it over.
    An execution claimed for more than `max_attempts` times is not run: it ends `failed`.

    A new execution skips the queue when a place is free and nothing waits queued: the dispatcher
    inserts it already claimed (`claim_new`) and hands it over once committed (`start_claimed`),
    so it runs at once without a claim statement, from the record the dispatcher built.
    """

    def __init__(
        self,
        store: Store,
        flows: FlowCache,
        *,
        concurrency: int = 8,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        max_attempts: int = 5,
        retry_base_seconds: float = RETRY_BASE_SECONDS,
        retry_cap_seconds: float = RETRY_CAP_SECONDS,
        env: Mapping[str, str] | None = None,
        metrics: Metrics | None = None,
        resources: Resources | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics or Metrics()
        self._flows = flows
        self._concurrency = concurrency
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._retry_cap = retry_cap_seconds
        self._env = dict(env or {})
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{new_id()}"
        self._wakeup = asyncio.Event()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._lost_claims: datetime | None = None
        """The expiry of the latest claim whose answer never came (it may have committed), until released."""
        self._reserved = 0
        """Places taken by `claim_new` for executions on their way to the database."""
        self._settled = asyncio.Event()
        """Set while no place is taken by `claim_new` (`stop` waits for those executions to commit)."""
        self._settled.set()
        self._caught_up = False
        """The last claim found fewer executions than it had places for, and nothing was queued since
        (`wake` says when something was, and so does `claim_new` when it finds no place)."""
        self._stranded = False
        """An execution claimed by `claim_new` was committed after `stop` began: it did not run here."""
        self._claimer: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._resources = resources
        self._due: list[float] = []
        """When the executions this pool let wait are due (loop time), earliest first (a heap)."""
        self._timer: asyncio.Handle | None = None
        """The one wake-up set, always for `_due[0]`: thousands of waits cost one timer. (Its time is
        read from `_due`: uvloop gives a plain `Handle`, without `when()`, for a time under 1 ms away.)"""

    def wake(self) -> None:
        """Say that new work may be waiting (called after an enqueue commits)."""
        self._caught_up = False  # it goes before any new execution that `claim_new` would take
        self._wakeup.set()

    def _wake_at(self, when: float) -> None:
        """Look for work at loop time `when` (an execution let wait is due then), besides the polls."""
        earliest = self._timer is None or when < self._due[0]
        heapq.heappush(self._due, when)
        if earliest:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = asyncio.get_running_loop().call_at(when, self._wake_timer)

    def _wake_timer(self) -> None:
        """Waiting executions are due: look for work, and set the wake-up for the next ones."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._due and self._due[0] <= now:
            heapq.heappop(self._due)
        self._timer = loop.call_at(self._due[0], self._wake_timer) if self._due else None
        self.wake()

    def claim_new(self) -> Claim | None:
        """A claim for an execution about to be accepted, to run here once committed; None to queue it.

        None when the pool does not run (not started, stopping), when every place is taken, or when
        executions may be waiting queued: those go first, and the new one queues behind them.
        """
        if self._claimer is None or not self._caught_up:
            return None
        if len(self._running) + self._reserved >= self._concurrency:
            self._caught_up = False  # this one queues: the next claim must find it first
            return None
        self._reserved += 1
        self._settled.clear()
        now = _now()
        return Claim(self.worker_id, now, now + timedelta(seconds=self._lease))

    def start_claimed(self, execution: Execution) -> None:
        """Run an execution that its `claim_new` claim committed (`started`, first attempt)."""
        self._settle()
        if self._claimer is None:
            # Stopping: it is not run here, and `stop` frees its claim for the next process.
            self._stranded = True
            return
        self._spawn(execution, execution.started_at or _now())

    def unclaim(self) -> None:
        """Give back the place of a `claim_new` claim whose execution was not stored.

        (One whose write was cancelled may be stored after all: its claim lapses, and it is claimed then.)
        """
        self._settle()
        self._wakeup.set()

    def _settle(self) -> None:
        """One place taken by `claim_new` is settled: its execution runs here, or was not stored."""
        self._reserved -= 1
        if not self._reserved:
            self._settled.set()

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
        if self._concurrency > 0 and self._claimer is None:
            self._claimer = asyncio.create_task(self._claim_loop(), name="hookline-claims")
            self._renewer = asyncio.create_task(self._renew_loop(), name="hookline-renewals")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, give running executions `grace` seconds, then cancel the rest.

        Claims stay renewed during the grace period. The executions canceled at its end have
        their claims removed at once, so another process takes them over (resuming after
        their last finished job) without waiting for the lease to run out. So are the executions
        that `claim_new` claimed and that commit during the stop (waited for within `grace` too).
        """
        await _stop_task(self._claimer)
        self._claimer = None
        with contextlib.suppress(TimeoutError):
            # Executions claimed for this pool on their way to the database: once committed, they
            # are released below rather than left to their lease.
            async with asyncio.timeout(grace):
                await self._settled.wait()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due.clear()
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=grace)
        interrupted = list(self._running.values())
        for task in interrupted:
            task.cancel()
        if interrupted:
            await asyncio.wait(interrupted)
        await _stop_task(self._renewer)
        self._renewer = None
        if interrupted or self._stranded:
            await self._release_claims(len(interrupted))

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
            # Cleared before the claim, not after: a wake-up that arrives while the claim runs
            # (its commit maybe too late for this claim to see) must trigger another claim.
            self._wakeup.clear()
            try:
                await self._release_lost_claims()
                claimed = await self._claim()
            except StorageUnavailable as exc:
                log.warning("cannot claim executions: %s", exc)
                claimed = 0
            except Exception:
                # Whatever went wrong, the loop must live on: a dead claim loop runs nothing again.
                log.exception("claiming executions failed; trying again after the poll interval")
                claimed = 0
            if claimed == 0 or len(self._running) >= self._concurrency:
                with contextlib.suppress(TimeoutError):
                    # Not wait_for: on Python 3.11 it can swallow a cancel that lands with a wake-up.
                    async with asyncio.timeout(self._poll):
                        await self._wakeup.wait()

    async def _claim(self) -> int:
        free = self._concurrency - len(self._running) - self._reserved
        if free <= 0:
            return 0
        claimed_at = _now()
        try:
            executions = await self._store.claim_executions(
                self.worker_id, limit=free, lease_seconds=self._lease, now=claimed_at
            )
        except StorageUnavailable:
            # The claim may have committed with its answer lost (a COMMIT cut off on its way back):
            # those executions would wait for the lease to end, held by a claim nobody runs.
            self._lost_claims = claimed_at + timedelta(seconds=self._lease)
            raise
        # Fewer than asked for: nothing more is queued (until `wake`, or `claim_new` finds no place).
        self._caught_up = len(executions) < free
        for execution in executions:
            if execution.id in self._running:
                # Our own claim lapsed (renewals failed) and we took it again: it still runs here.
                continue
            self._spawn(execution, claimed_at)
        return len(executions)

    def _spawn(self, execution: Execution, claimed_at: datetime) -> None:
        """Run a claimed execution in a task of its own, in the pool's places."""
        task = asyncio.create_task(self._run(execution, claimed_at))
        self._running[execution.id] = task
        task.add_done_callback(functools.partial(self._finished, execution.id))

    async def _release_lost_claims(self) -> None:
        """After a claim whose answer was lost, free what it may have taken, until its lease would end.

        Only this pool's claims that expire no later than the lost one's (claims taken since
        expire later) on executions it does not run; repeated on each claim round, since a
        COMMIT held up on the way to the database may land after the first release.
        """
        lost = self._lost_claims
        if lost is None:
            return
        if _now() >= lost:
            self._lost_claims = None  # lapsed: any process takes them over now
            return
        freed = await self._store.expire_claims(self.worker_id, keep=list(self._running), expiring_by=lost)
        if freed:
            log.warning("freed %d executions claimed by a claim whose answer was lost", freed)

    def _finished(self, execution_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(execution_id, None)
        if not self._caught_up:
            self._wakeup.set()  # a place is free again, and executions may wait queued for it

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)  # the renewal period, not a wait for an event
            if not self._running:
                continue
            try:
                await self._renew()
            except Exception:
                # A dead renew loop would let every claim lapse, and other processes would run
                # those executions a second time: log the surprise and renew again next period.
                log.exception("renewing claims failed; trying again in %.1f s", self._lease / 3)

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

    async def _run(self, execution: Execution, claimed_at: datetime) -> None:
        if execution.attempt > self._max_attempts:
            await self._give_up(execution)
            return
        try:
            await self._execute(execution, claimed_at)
        except StorageUnavailable as exc:
            await self._pause(execution, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("execution %s failed inside the engine", execution.id)
            await self._finish_failed(execution, ExecutionStatus.ERROR, "internal engine error")

    async def _pause(self, execution: Execution, error: StorageUnavailable) -> None:
        """Release the claim of an attempt the database cut short, to be retried after a back-off.

        The database is often still out of reach for the release itself: it is tried again every
        poll interval, so the execution is free as soon as the database is back rather than when
        its lease runs out. After a lease's worth of tries the claim is left to expire.
        """
        delay = backoff_seconds(execution.attempt, base=self._retry_base, cap=self._retry_cap)
        log.warning(
            "execution %s paused after attempt %d, storage unavailable (%s); retrying in %.1f s",
            execution.id,
            execution.attempt,
            error,
            delay,
        )
        run_after = _now() + timedelta(seconds=delay)
        loop = asyncio.get_running_loop()
        last_try = loop.time() + self._lease
        while True:
            try:
                await self._store.release_execution(
                    execution.id, self.worker_id, run_after=run_after, error=str(error)
                )
                return
            except StorageUnavailable:
                if loop.time() + self._poll > last_try:
                    # Nothing is lost: the claim is no longer renewed, so it expires and is taken over.
                    log.warning("execution %s keeps its claim until the lease ends", execution.id)
                    return
            await asyncio.sleep(self._poll)  # a back-off between tries, not a wait for an event

    async def _give_up(self, execution: Execution) -> None:
        """End an execution that used up its attempts as `failed`, keeping the last error."""
        tried = execution.attempt - 1
        error = f"gave up after {tried} attempts" + (f": {execution.error}" if execution.error else "")
        log.warning("execution %s: %s", execution.id, error)
        await self._finish_failed(execution, ExecutionStatus.FAILED, error)

    async def _finish_failed(self, execution: Execution, status: ExecutionStatus, error: str) -> None:
        """Record a final status the engine decided itself (the workflow did not run to it)."""
        finished_at = _now()
        try:
            await self._store.finish_execution(execution.id, status, finished_at=finished_at, error=error)
        except StorageUnavailable as exc:
            log.warning("execution %s not finished, storage unavailable: %s", execution.id, exc)
            return
        self._metrics.execution_ended(execution.key, status, execution.started_at, finished_at)
        await self._wake_parent(execution)

    async def _execute(self, execution: Execution, claimed_at: datetime) -> None:
        compiled = await self._flows.version(execution.workflow_id)
        if compiled is None:
            await self._store.finish_execution(
                execution.id,
                ExecutionStatus.ERROR,
                finished_at=_now(),
                error="the workflow version of this execution no longer exists",
            )
            return
        previous = await self._store.resume_jobs(execution.id) if _ran_before(execution, claimed_at) else []
        processor = Processor(
            compiled.flow.workflow,
            compiled.graph,
            execution.id,
            execution.context,
            self._store,
            previous_jobs=previous,
            env=self._env,
            observe=self._metrics.job_finished,
            resources=self._resources,
            timeout_ms=compiled.options.timeout_ms,
        )
        result = await processor.run()
        if result.wait is not None and result.final_job is not None:
            await self._suspend(execution, result.wait.until, result.final_job, result.final_job_exists)
            return
        added, replaced = result.last_jobs()
        finished_at = _now()
        await self._store.finish_execution(
            execution.id,
            result.status,
            finished_at=finished_at,
            # `response` is the answer a caller got: given at acceptance (asynchronous) or by the first
            # run (a resumed synchronous one). An answer a resumed run's node makes reaches nobody.
            response=None,
            error=result.error,
            jobs=added,
            updated_jobs=replaced,
        )
        self._metrics.execution_ended(execution.key, result.status, execution.started_at, finished_at)
        await self._wake_parent(execution)

    async def _wake_parent(self, execution: Execution) -> None:
        """Tell the execution whose subflow node waits for this one that it has ended.

        Best effort: a parent not woken (the database out of reach) still looks again on its own.
        """
        if execution.parent_id is None:
            return
        try:
            if await self._store.wake_execution(execution.parent_id, now=_now()):
                self.wake()
        except StorageUnavailable as exc:
            log.warning("execution %s ended but its parent was not woken: %s", execution.id, exc)

    async def _suspend(self, execution: Execution, until: datetime, job: Job, job_exists: bool) -> None:
        """Record a node's pending job and let go of its execution until `until` (not an attempt).

        The execution holds no slot and no claim meanwhile; whichever process claims it once due
        resumes it. A timer wakes this pool's claim loop then, so a short wait (a retry's back-off)
        does not also wait for the next poll.
        """
        suspended = await self._store.suspend_execution(
            execution.id, self.worker_id, run_after=until, job=job, job_exists=job_exists
        )
        if not suspended:
            log.info(
                "execution %s was canceled or taken over while its node %s waited", execution.id, job.node_key
            )
            return
        delay = max(0.0, (until - _now()).total_seconds())
        self._wake_at(asyncio.get_running_loop().time() + delay)

    async def _release_claims(self, count: int) -> None:
        """Remove this pool's claims so other processes take the interrupted executions at once."""
        try:
            released = await self._store.expire_claims(self.worker_id)
        except StorageUnavailable as exc:
            log.warning("%d interrupted executions keep their claims until the lease ends: %s", count, exc)
            return
        log.info("released %d interrupted executions for other workers", released)


async def _stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _ran_before(execution: Execution, claimed_at: datetime) -> bool:
    """Whether an execution may have jobs from an earlier run, so they must be read to resume.

    A retry has an attempt above 1. A requeued (resumed) one restarts its attempts but kept
    the `started_at` of its first run, whereas the claim sets it for a fresh one to its time.
    """
    return execution.attempt > 1 or execution.started_at != claimed_at


def _now() -> datetime:
    return datetime.now(UTC)
