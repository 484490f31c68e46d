"""The parallel node: run its branches at the same time, and go on as its mode decides.

Unlike NocoBase, whose branches take turns, the branches really run concurrently (the engine
runs each as its own task). Modes as NocoBase's (`all`, `any`, `race`, their numbers 0, 1, 2)
plus `allSettled`, which waits for every branch and always goes on.
"""

from __future__ import annotations

from typing import Any

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes._config import check_choice
from hookline.nodes.base import Fork, ForkMode, NodeContext, NodeType, Outcome
from hookline.types import JsonObject

MODES: dict[Any, ForkMode] = {
    "all": ForkMode.ALL,
    "any": ForkMode.ANY,
    "race": ForkMode.RACE,
    "allSettled": ForkMode.ALL_SETTLED,
    0: ForkMode.ALL,
    1: ForkMode.ANY,
    2: ForkMode.RACE,
}
"""`mode` values, NocoBase's numbers included."""


class ParallelNode(NodeType):
    """Fork: every branch below the node runs at once; the flow goes on once the mode is decided."""

    type = "parallel"

    def check(self, config: JsonObject) -> list[Problem]:
        """`mode`, when given, must be one of MODES (`all` when missing)."""
        return check_choice(config, "mode", MODES)

    def has_branch(self, config: JsonObject, index: int) -> bool:
        """Any number of branches, numbered from 0."""
        return index >= 0

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Ask the engine to run the branches; its job then lists how each one settled."""
        return Outcome(JobStatus.RESOLVED, fork=Fork(MODES[config.get("mode", "all")]))
