"""The Store protocol: every read and write the engine, the API and the CLI need, in domain words."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hookline.models import Execution, ExecutionStatus, Job, Node, Workflow
from hookline.types import JsonObject, JsonValue

RateWindow = tuple[str, int]
"""A rate-limit window as stored: its bucket (who is counted) and its start, in seconds since the epoch."""


@dataclass(frozen=True, slots=True)
class Flow:
    """A workflow version together with all of its nodes."""

    workflow: Workflow
    nodes: tuple[Node, ...]
    capture_until: datetime | None = None
    """Until when a capture of its key is armed (only `get_live_flow` reads it); None: no capture."""


@dataclass(frozen=True, slots=True)
class Capture:
    """A "listen for a test request" capture: armed for a workflow key until `expires_at`.

    `request` is the request it took (at `captured_at`), None while it is still armed.
    """

    id: int
    key: str
    armed_at: datetime
    expires_at: datetime
    request: JsonObject | None = None
    captured_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExecutionFilter:
    """Which executions to list, newest first."""

    workflow_key: str | None = None
    status: ExecutionStatus | None = None
    limit: int = 50
    before_id: int | None = None
    workflow_id: int | None = None
    """Only executions of this workflow version."""
    created_after: datetime | None = None
    """Only executions created at or after this time."""
    created_before: datetime | None = None
    """Only executions created before this time."""


@dataclass(frozen=True, slots=True)
class WorkflowFilter:
    """Which current workflow versions to list, ordered by key."""

    enabled: bool | None = None
    type: str | None = None
    text: str | None = None
    """A case-insensitive piece of the key, title or description."""
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """Which finished executions of some workflow versions the janitor may delete."""

    workflow_ids: tuple[int, ...]
    finished_before: datetime
    statuses: tuple[ExecutionStatus, ...] | None = None
    """Only executions with these final statuses; None means every final status."""


@dataclass(frozen=True, slots=True)
class Limits:
    """A workflow version's back-pressure options, as the queue applies them to its executions.

    The options are described in docs/reference/workflow-json.md#options.
    """

    concurrency: int | None = None
    """At most this many executions of the key are `started` with a live claim at once."""
    queue_limit: int | None = None
    """A new execution is refused while this many executions of the key are `queued` (checked exactly)."""
    default_queue_limit: int | None = None
    """Without `queue_limit`: the process's default (`HOOKLINE_QUEUE_LIMIT`), which the dispatcher
    checks against its approximate counts (`Backlog`); the store only records it with the execution."""

    @classmethod
    def of(cls, options: Mapping[str, Any], default_queue_limit: int | None = None) -> Limits | None:
        """The limits a workflow's options set (`concurrency`, `queueLimit`), with the default queue
        limit when they set no `queueLimit`; None when there are none at all."""
        concurrency, queue_limit = _whole(options.get("concurrency")), _whole(options.get("queueLimit"))
        if queue_limit is not None:
            default_queue_limit = None
        if concurrency is None and queue_limit is None and default_queue_limit is None:
            return None
        return cls(concurrency, queue_limit, default_queue_limit)

    @property
    def stored_queue_limit(self) -> int | None:
        """The queue limit recorded with an execution: the workflow's own, else the default.

        The queued executions recorded with one are those the counts find (`ix_executions_bounded`).
        """
        return self.default_queue_limit if self.queue_limit is None else self.queue_limit


def _whole(value: Any) -> int | None:
    """A limit as validated by `check_options` (an integer of 1 or more); anything else is no limit."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


@dataclass(frozen=True, slots=True)
class DedupeKey:
    """An idempotency key as stored (a digest of the workflow key and the value), and its expiry."""

    key: str
    expires_at: datetime
    """Until when the key holds its execution's answer; after that a request with it runs again."""


@dataclass(frozen=True, slots=True)
class DedupeHolder:
    """The execution holding an idempotency key, and the answer it gave (None while it runs)."""

    execution_id: int
    response: JsonObject | None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of a multipart webhook body, kept in the database (its bytes in chunks beside it)."""

    id: int
    filename: str
    content_type: str
    created_at: datetime
    size: int = 0
    sha256: str | None = None
    """The hex SHA-256 of the bytes; None until the last byte is in."""
    execution_id: int | None = None
    """The execution it belongs to; None until that is recorded and the file attached to it."""
    planned_execution_id: int | None = None
    """The id its request's execution gets once recorded: the janitor attaches it then, if nobody did."""


class Store(Protocol):
    """Domain operations over one database. Writes are durable when the call returns.

    Every write raises `StorageUnavailable` when the database cannot commit it.
    """

    async def close(self) -> None:
        """Finish pending writes and release connections."""
        ...

    async def ping(self) -> None:
        """Raise `StorageUnavailable` unless the database answers a trivial query."""
        ...

    # -- workflows -------------------------------------------------------------------------

    async def add_flow(self, flow: Flow) -> None:
        """Store a new workflow version with its nodes.

        When the version is enabled it becomes the current one of its key, and every other
        version of that key is disabled and no longer current. A version that is not enabled
        becomes current only when its key had no current version.
        """
        ...

    async def get_live_flow(self, key: str) -> Flow | None:
        """The current, enabled version of a key with its nodes and its `capture_until`, or None."""
        ...

    async def get_current_flow(self, key: str) -> Flow | None:
        """The current version of a key with its nodes (enabled or not), or None."""
        ...

    async def get_flow(self, workflow_id: int) -> Flow | None:
        """One workflow version by id with its nodes, or None."""
        ...

    async def list_workflows(self, *, current_only: bool = True) -> list[Workflow]:
        """Workflow versions ordered by key then id; only the current ones by default."""
        ...

    async def find_workflows(self, query: WorkflowFilter) -> list[Workflow]:
        """Current workflow versions matching the filter, ordered by key, one page of them."""
        ...

    async def list_versions(self, key: str) -> list[Workflow]:
        """Every version of a key, oldest first."""
        ...

    async def update_workflow(self, workflow: Workflow) -> None:
        """Store a version's title, description, config, options and updated_at (by id)."""
        ...

    async def replace_nodes(self, workflow_id: int, nodes: Sequence[Node]) -> None:
        """Replace every node of a version with these, in one transaction."""
        ...

    async def set_enabled(self, workflow_id: int, enabled: bool, *, now: datetime) -> None:
        """Enable or disable a version.

        Enabling makes it the current version of its key and disables every other version
        of that key (which stop being current). Disabling keeps it current.
        """
        ...

    async def count_executions(self, workflow_id: int) -> int:
        """How many executions a version has (a version with any is frozen)."""
        ...

    async def delete_workflow(self, key: str, *, batch: int = 500) -> int:
        """Delete every version of a key with its nodes, executions and jobs.

        Executions go in batches of `batch`, each in its own short transaction, so that
        deleting a busy workflow never blocks webhook traffic. Returns how many
        executions were deleted.
        """
        ...

    # -- executions and jobs ---------------------------------------------------------------

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

    async def add_deduplicated_execution(
        self, execution: Execution, dedupe: DedupeKey, limits: Limits | None, *, now: datetime
    ) -> DedupeHolder | None:
        """Durably insert a queued execution unless a live holder has its idempotency key.

        In one transaction: take the key (free, or expired at `now`) for this execution with
        its `response`, then insert it as `add_limited_execution` does (`limits` may be None).
        Returns the key's holder: this execution when it was stored, or the earlier one
        (nothing is stored). None when the queue is full: nothing is stored, the key stays
        free. Two calls with one key never both store their executions, also across processes.
        """
        ...

    async def claim_dedupe_key(self, dedupe: DedupeKey, execution_id: int, *, now: datetime) -> DedupeHolder:
        """Take an idempotency key for an execution about to run (no answer yet), unless it is live.

        Returns the key's holder: `execution_id` when the key was free or expired at `now`,
        otherwise the live holder (with its answer, or None while it still runs). Only one of
        concurrent claims of a key wins, also across processes.
        """
        ...

    async def get_dedupe_holder(self, key: str, *, now: datetime) -> DedupeHolder | None:
        """The live holder of an idempotency key at `now`, or None when the key is free or expired."""
        ...

    async def release_dedupe_key(self, key: str, execution_id: int) -> None:
        """Free a key this execution claimed and never answered (its run failed to be recorded)."""
        ...

    async def delete_expired_dedupe_keys(self, now: datetime, *, limit: int) -> int:
        """Delete up to `limit` idempotency keys expired at `now`, oldest first; how many."""
        ...

    async def count_requests(
        self, added: Mapping[RateWindow, int], read: Collection[RateWindow] = ()
    ) -> dict[RateWindow, int]:
        """Add to the request counts of rate-limit windows, shared by every process; the totals after.

        The answer holds the total of each `added` window and of each `read` window that has one.
        Counts are not durable: on PostgreSQL a crash of the database may lose them.
        """
        ...

    async def delete_rate_counts(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` rate-limit windows that started before `before`, oldest first; how many."""
        ...

    # -- captures ("listen for a test request") --------------------------------------------

    async def arm_capture(self, capture: Capture) -> None:
        """Durably store a new, armed capture (its `request` is ignored)."""
        ...

    async def take_capture(self, key: str, request: JsonObject, *, now: datetime) -> int | None:
        """Give a request to the oldest capture of `key` armed at `now`; its id, None when there is none.

        Only one of concurrent takes gets a capture, also across processes.
        """
        ...

    async def get_capture(self, capture_id: int) -> Capture | None:
        """One capture by id, or None."""
        ...

    async def delete_capture(self, capture_id: int) -> None:
        """Delete a capture (armed or not); nothing when it is gone already."""
        ...

    async def delete_expired_captures(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` captures that expired before `before`, oldest first; how many."""
        ...

    async def add_limited_execution(self, execution: Execution, limits: Limits) -> bool:
        """Durably insert a queued execution with its workflow's limits; False when its queue is full.

        The limits are stored with the execution, for the claim and the counts. With a queue
        limit, the execution is inserted only while fewer executions of its key (recorded with
        a queue limit, the default one included) are `queued` than that; the count and the
        insert share one transaction, and no two such transactions of one key overlap. When the
        queue is full nothing is stored. A default queue limit is recorded, not checked.
        """
        ...

    async def count_queued(self) -> dict[str, int]:
        """How many executions of each workflow key are `queued`, of those recorded with a queue limit.

        Every execution queued by the dispatcher is (its workflow's own limit, or the default).
        """
        ...

    async def add_job(self, job: Job) -> None:
        """Durably insert one finished job."""
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
        self,
        execution_id: int,
        status: ExecutionStatus,
        *,
        finished_at: datetime,
        output: JsonValue = None,
        response: JsonObject | None = None,
        error: str | None = None,
        jobs: Sequence[Job] = (),
        updated_jobs: Sequence[Job] = (),
    ) -> None:
        """Durably insert the last jobs and set the final status, both in one transaction.

        `updated_jobs` replace the pending jobs with the same ids.

        Only a `started` execution is finished: one canceled meanwhile keeps its status.
        A `response` of None keeps the one recorded when the execution was accepted.
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

    async def get_execution(self, execution_id: int) -> Execution | None:
        """One execution by id, or None."""
        ...

    async def get_execution_by_event_key(self, event_key: str) -> Execution | None:
        """The execution recorded for an event key, or None."""
        ...

    async def list_jobs(self, execution_id: int) -> list[Job]:
        """The jobs of an execution in the order they were recorded."""
        ...

    async def list_executions(self, query: ExecutionFilter) -> list[Execution]:
        """Executions matching the filter, newest first."""
        ...

    async def cancel_execution(self, execution_id: int, *, now: datetime) -> bool:
        """Make a `queued`, `started` or `waiting` execution `canceled`; False when it was none of them."""
        ...

    async def requeue_execution(self, execution_id: int, *, drop_job_ids: Sequence[int] = ()) -> bool:
        """Queue a finished execution again, without these jobs (to resume from a failed node).

        Its status becomes `queued`; its error, finish time, claim and `run_after` are
        cleared and its `attempt` count restarts from 0, so the new run has every attempt
        again. False when the execution does not exist or is not finished.
        """
        ...

    async def delete_executions(self, rule: RetentionRule, *, limit: int) -> int:
        """Delete up to `limit` finished executions (with their jobs) matching the rule."""
        ...

    async def announce_workflow_change(self, key: str) -> None:
        """Tell the other processes that a workflow key changed, so they drop their cached versions."""
        ...

    async def count_executions_by_status(self, since: datetime | None = None) -> dict[tuple[str, str], int]:
        """How many executions each (workflow key, status) has (created since `since`, when given)."""
        ...

    # -- files of multipart bodies -----------------------------------------------------------

    async def add_file(self, file: StoredFile) -> None:
        """Durably insert a file's row, before its bytes; it belongs to no execution yet."""
        ...

    async def add_file_chunk(self, file_id: int, position: int, data: bytes) -> None:
        """Durably store the chunk of a file's bytes at `position` (0, 1, 2, … in order)."""
        ...

    async def finish_file(self, file_id: int, size: int, sha256: str) -> None:
        """Record a file's size and SHA-256 once its last chunk is stored."""
        ...

    async def attach_files(self, file_ids: Sequence[int], execution_id: int) -> None:
        """Make files belong to a recorded execution: they are deleted with it from then on."""
        ...

    async def delete_files(self, file_ids: Sequence[int]) -> None:
        """Delete files with their bytes (those of a request that was refused or not recorded)."""
        ...

    async def get_file(self, execution_id: int, file_id: int) -> StoredFile | None:
        """A finished file of an execution, or None (unknown, unfinished, or another execution's)."""
        ...

    async def read_file_chunk(self, file_id: int, position: int) -> bytes | None:
        """The chunk of a file's bytes at `position`, or None past the last one."""
        ...

    async def settle_unattached_files(self, before: datetime, *, limit: int) -> int:
        """Settle up to `limit` files created before `before` that joined no execution; how many.

        A file whose planned execution was recorded is attached to it (its process died in between);
        the others are deleted (their request was never recorded).
        """
        ...
