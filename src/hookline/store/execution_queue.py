"""The execution queue role of the store: executions recorded, claimed, run, suspended and finished.

The executions table is the queue: an insert is durably queued, a claim takes rows with a lease,
and a worker records jobs and a final status under its claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, Required, TypedDict, Unpack

from hookline.models import Claim, DedupeKey, Execution, ExecutionStatus, Job, Limits
from hookline.types import JsonObject, JsonValue


class ExecutionEnd(TypedDict, total=False):
    """How an execution ended, as `finish_execution` records it; only `finished_at` is required."""

    finished_at: Required[datetime]
    output: JsonValue
    """What the workflow gave back; None when left out."""
    response: JsonObject | None
    """The answer to keep; None (or left out) keeps the one recorded when the execution was accepted."""
    error: str | None
    """Why it did not resolve; None when left out."""
    jobs: Sequence[Job]
    """The last jobs, inserted in the same transaction."""
    updated_jobs: Sequence[Job]
    """Jobs that replace the pending jobs with the same ids (nodes called again after a wait)."""


class ExecutionQueue(Protocol):
    """Executions from their insert to their final status: the queue that workers claim from."""

    async def add_execution(
        self, execution: Execution, jobs: Sequence[Job] = (), *, dedupe: DedupeKey | None = None
    ) -> None:
        """Durably insert an execution (queued, or already finished) and its jobs.

        With `dedupe` (a key this execution claimed with `claim_dedupe_key`), the same
        transaction stores the execution's `response` under the key, which then holds it
        until `dedupe.expires_at`. A key that another execution has taken over meanwhile
        (this one's claim had expired) is left to that one.
        """
        ...

    async def add_limited_execution(
        self, execution: Execution, limits: Limits, *, claim: Claim | None = None
    ) -> bool:
        """Durably insert a queued execution with its workflow's limits; False when its queue is full.

        The limits are stored with the execution, for the claim and the counts. With a queue
        limit, the execution is inserted only while fewer executions of its key (recorded with
        a queue limit, the default one included) are `queued` than that; the count and the
        insert share one transaction, and no two such transactions of one key overlap. When the
        queue is full nothing is stored. A default queue limit is recorded, not checked.

        With a `claim`, the execution (`started`, its first attempt) is inserted already claimed by
        the worker that runs it as soon as this returns (`WorkerPool.claim_new`): no other worker
        takes it unless the claim lapses, and on PostgreSQL no listener is told of it.
        """
        ...

    async def count_queued(self) -> dict[str, int]:
        """How many executions of each workflow key are `queued`, of those recorded with a queue limit.

        Every execution queued by the dispatcher is (its workflow's own limit, or the default).
        """
        ...

    async def resume_jobs(self, execution_id: int) -> list[Job]:
        """The jobs of an execution a worker resumes, in the order they were recorded (as `list_jobs`)."""
        ...

    async def add_jobs(self, jobs: Sequence[Job]) -> None:
        """Durably insert finished jobs, in this order, in one transaction."""
        ...

    async def update_job(self, job: Job) -> None:
        """Durably replace the pending job with this id (a node called again after a wait)."""
        ...

    async def suspend_execution(
        self, execution_id: int, worker_id: str, *, run_after: datetime, job: Job, job_exists: bool
    ) -> bool:
        """Record a node's pending job (insert, or replace when `job_exists`) and make the execution wait.

        In one transaction: the execution becomes `waiting` until `run_after`, without a claim; the
        claim that resumes it keeps its attempt count (a wait is not an attempt). False when it was
        no longer `started` under this worker's claim.
        """
        ...

    async def wake_execution(self, execution_id: int, *, now: datetime) -> bool:
        """Make a `waiting` execution due at once (what it waited for happened); False if not waiting.

        On PostgreSQL the workers of every process are told, so one claims it without polling.
        """
        ...

    async def finish_execution(
        self, execution_id: int, status: ExecutionStatus, **end: Unpack[ExecutionEnd]
    ) -> None:
        """Durably insert the last jobs and set the final status, both in one transaction.

        Only a `started` execution is finished: one canceled meanwhile keeps its status.
        """
        ...

    async def claim_executions(
        self, worker_id: str, *, limit: int, lease_seconds: float, now: datetime
    ) -> list[Execution]:
        """Claim up to `limit` runnable executions, oldest first, for this worker.

        Runnable: `queued` or `waiting`, or `started` with no claim or an expired one; in all cases
        only once its `run_after` (if any) is not after `now`. Claimed rows become
        `started`, get `claimed_by = worker_id`, a claim expiry of now + lease, no
        `run_after`, their `attempt` incremented and `started_at` set if it was empty; their
        `error` (why the last attempt stopped) is kept. PostgreSQL uses `FOR UPDATE SKIP
        LOCKED` so that competing workers never claim the same row.

        An execution stored with a concurrency limit is claimed only while fewer executions
        of its key (stored with a limit) are `started` with a live claim than that limit, also
        across processes; the others wait. Those go before the executions without a limit.
        """
        ...

    async def renew_claims(
        self, worker_id: str, execution_ids: Sequence[int], *, lease_seconds: float, now: datetime
    ) -> set[int]:
        """Push the claim expiry of executions this worker still runs.

        Returns the ids it renewed: those still `started` and claimed by this worker (and,
        for an execution with a concurrency limit, whose claim had not lapsed). An id missing
        from the answer was canceled or taken over, and the worker must stop it.
        """
        ...

    async def expire_claims(
        self, worker_id: str | None = None, *, keep: Sequence[int] = (), expiring_by: datetime | None = None
    ) -> int:
        """Make `started` executions claimable now (all, or one worker's); returns how many.

        Their claim and any `run_after` are cleared. `keep` names executions whose claims stay;
        with `expiring_by`, only claims that expire by then go.
        """
        ...

    async def release_execution(
        self, execution_id: int, worker_id: str, *, run_after: datetime, error: str | None
    ) -> bool:
        """Drop this worker's claim on a `started` execution so it is claimed again from `run_after`.

        The execution stays `started` (with its jobs) but unclaimed; `error` records why
        the attempt stopped and stays until the execution finishes. False when it is no
        longer `started` under this worker's claim (canceled, finished or taken over).
        """
        ...
