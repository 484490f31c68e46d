"""The Store protocol: every read and write the engine, the API and the CLI need, in domain words.

It is composed of one protocol per role, each in its own module with the records it takes and
gives; a caller that needs only one role may ask for that one. `SqlStore` implements them all.
"""

from __future__ import annotations

from typing import Protocol

from hookline.store.capture_store import CaptureStore
from hookline.store.execution_history import ExecutionHistory
from hookline.store.execution_queue import ExecutionQueue
from hookline.store.file_store import FileStore
from hookline.store.idempotency import IdempotencyStore
from hookline.store.rate_count_store import RateCountStore
from hookline.store.workflow_store import WorkflowStore


class Store(
    WorkflowStore,
    ExecutionQueue,
    ExecutionHistory,
    IdempotencyStore,
    RateCountStore,
    CaptureStore,
    FileStore,
    Protocol,
):
    """Domain operations over one database. Writes are durable when the call returns.

    Every write raises `StorageUnavailable` when the database cannot commit it.
    """

    async def close(self) -> None:
        """Finish pending writes and release connections."""
        ...

    async def ping(self) -> None:
        """Raise `StorageUnavailable` unless the database answers a trivial query."""
        ...
