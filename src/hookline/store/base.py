"""The Store protocol: every read and write the engine, the API and the CLI need, in domain words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hookline.models import Execution, ExecutionStatus, Job, Node, Workflow
from hookline.types import JsonObject, JsonValue


@dataclass(frozen=True, slots=True)
class Flow:
    """A workflow version together with all of its nodes."""

    workflow: Workflow
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ExecutionFilter:
    """Which executions to list, newest first."""

    workflow_key: str | None = None
    status: ExecutionStatus | None = None
    limit: int = 50
    before_id: int | None = None


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
        """The current, enabled version of a key with its nodes, or None."""
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

    # -- executions and jobs ---------------------------------------------------------------

    async def add_execution(self, execution: Execution, jobs: Sequence[Job] = ()) -> None:
        """Durably insert an execution (queued, or already finished) and its jobs."""
        ...

    async def add_job(self, job: Job) -> None:
        """Durably insert one finished job."""
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
    ) -> None:
        """Durably insert the last jobs and set the final status, both in one transaction.

        A `response` of None keeps the one recorded when the execution was accepted.
        """
        ...

    async def claim_executions(
        self, worker_id: str, *, limit: int, lease_seconds: float, now: datetime
    ) -> list[Execution]:
        """Claim up to `limit` runnable executions, oldest first, for this worker.

        Runnable: `queued`, or `started` with an expired claim. Claimed rows become
        `started`, get `claimed_by = worker_id`, a claim expiry of now + lease, their
        `attempt` incremented and `started_at` set if it was empty. PostgreSQL uses
        `FOR UPDATE SKIP LOCKED` so that competing workers never claim the same row.
        """
        ...

    async def renew_claims(
        self, worker_id: str, execution_ids: Sequence[int], *, lease_seconds: float, now: datetime
    ) -> None:
        """Push the claim expiry of executions this worker still runs."""
        ...

    async def expire_claims(self, worker_id: str | None = None) -> int:
        """Make `started` executions claimable now (all, or one worker's); returns how many."""
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
