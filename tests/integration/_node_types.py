"""Node types the in-process integration tests register: a base that takes any config, and a counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.registry import register, unregister
from hookline.types import JsonObject


class AnyConfigNode(NodeType):
    """A test node type that takes any config; a subclass gives its `type` and `run`."""

    def check(self, config: JsonObject) -> list[Problem]:
        """Any config will do."""
        return []


class CountNode(AnyConfigNode):
    """Counts its runs per node key, so a rerun would show; its result is the number of the run."""

    type: ClassVar[str] = "test-count"
    runs: ClassVar[dict[str, int]] = {}

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Count the run and resolve with its number (1 for the node's first)."""
        self.runs[ctx.node.key] = self.runs.get(ctx.node.key, 0) + 1
        return Outcome(JobStatus.RESOLVED, {"run": self.runs[ctx.node.key]})


@contextmanager
def registered(*kinds: NodeType) -> Iterator[None]:
    """Register these node types for the block; unregister them after it."""
    for kind in kinds:
        register(kind)
    try:
        yield
    finally:
        for kind in kinds:
            unregister(kind.type)
