"""The workflows role of the store: versions of a workflow with their nodes, which one is live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hookline.models import Flow, Node, Workflow


@dataclass(frozen=True, slots=True)
class WorkflowFilter:
    """Which current workflow versions to list, ordered by key."""

    enabled: bool | None = None
    type: str | None = None
    text: str | None = None
    """A case-insensitive piece of the key, title or description."""
    limit: int = 50
    offset: int = 0


class WorkflowStore(Protocol):
    """Workflow versions and their nodes: stored, found, edited, enabled, deleted."""

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

    async def announce_workflow_change(self, key: str) -> None:
        """Tell the other processes that a workflow key changed, so they drop their cached versions."""
        ...
