"""The execution history role of the store: recorded executions found, canceled, requeued, deleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hookline.models import Execution, ExecutionStatus, Job


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
class RetentionRule:
    """Which finished executions of some workflow versions the janitor may delete."""

    workflow_ids: tuple[int, ...]
    finished_before: datetime
    statuses: tuple[ExecutionStatus, ...] | None = None
    """Only executions with these final statuses; None means every final status."""


class ExecutionHistory(Protocol):
    """Recorded executions as people see and manage them, and as retention deletes them."""

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

    async def count_executions_by_status(self, since: datetime | None = None) -> dict[tuple[str, str], int]:
        """How many executions each (workflow key, status) has (created since `since`, when given)."""
        ...
