"""What the workers of live servers left in the store: the executions, their jobs, what is left to run."""

from __future__ import annotations

from collections import Counter

from hookline.models import Execution, ExecutionStatus
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore


async def all_executions(store: SqlStore) -> list[Execution]:
    """Every execution in the database."""
    return await store.list_executions(ExecutionFilter(limit=1_000_000))


async def job_counts(store: SqlStore, executions: list[Execution]) -> dict[int, Counter[str]]:
    """How many jobs each execution recorded per node key."""
    return {e.id: Counter(job.node_key for job in await store.list_jobs(e.id)) for e in executions}


async def nothing_runnable(store: SqlStore) -> bool:
    """True when no execution is queued or started."""
    for status in (ExecutionStatus.QUEUED, ExecutionStatus.STARTED):
        if await store.list_executions(ExecutionFilter(status=status, limit=1)):
            return False
    return True
