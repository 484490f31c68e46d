"""The end node: end the execution at once as resolved or failed."""

from __future__ import annotations

from typing import Any

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes._config import check_choice
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

_END_STATUSES: dict[Any, JobStatus] = {
    "resolved": JobStatus.RESOLVED,
    "failed": JobStatus.FAILED,
    1: JobStatus.RESOLVED,
    -1: JobStatus.FAILED,
}
"""`endStatus` values, NocoBase's numeric codes (1, -1) included."""


def end_status(config: JsonObject) -> JobStatus:
    """The status a valid end config ends with; `resolved` when none is given."""
    value = config.get("endStatus", "resolved")
    if isinstance(value, bool) or value not in _END_STATUSES:
        raise ValueError(f"endStatus {value!r} is not resolved or failed")
    return _END_STATUSES[value]


class EndNode(NodeType):
    """Stop the whole execution with the configured status."""

    type = "end"
    outside_effects = False
    terminal = True

    def check(self, config: JsonObject) -> list[Problem]:
        """The problem with `endStatus` when it is not "resolved", "failed", 1 or -1."""
        return check_choice(config, "endStatus", _END_STATUSES)

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """End the execution with the configured status."""
        return Outcome(end_status(config), ends=True)
