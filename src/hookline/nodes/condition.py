"""The condition node: evaluate a calculation, then run the true (1) or false (0) branch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookline.engine.calculators import check_calculation, evaluate_calculation
from hookline.errors import NodeError, Problem
from hookline.models import JobStatus
from hookline.nodes._config import check_bool
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

ENGINES = ("basic",)
"""The condition engines hookline runs; expression engines (math.js, formula.js) are not there yet."""


def check_condition(condition: Mapping[str, Any], prefix: str) -> list[Problem]:
    """The problems with a condition's `engine` and `calculation`; `prefix` is e.g. `config.`."""
    engine = condition.get("engine", "basic")
    if not isinstance(engine, str):
        return [Problem(f"{prefix}engine", 'must be a string such as "basic"')]
    if engine not in ENGINES:
        return [Problem(f"{prefix}engine", f'the "{engine}" engine is not available yet; use "basic"')]
    if condition.get("calculation") is None:
        return [Problem(f"{prefix}calculation", "is required: a group of calculations or one calculation")]
    return check_calculation(condition["calculation"], f"{prefix}calculation")


def evaluate_condition(condition: Mapping[str, Any], ctx: NodeContext) -> bool:
    """Render a condition's calculation against the scope and evaluate it."""
    engine = condition.get("engine", "basic")
    if engine not in ENGINES:
        raise NodeError(f'the condition engine "{engine}" is not available')
    return evaluate_calculation(ctx.render(condition.get("calculation")))


class ConditionNode(NodeType):
    """Branch on a calculation: true runs branch 1, false branch 0 (or fails with rejectOnFalse)."""

    type = "condition"

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `rejectOnFalse`, `engine` and `calculation`."""
        return check_bool(config, "rejectOnFalse") + check_condition(config, "config.")

    def has_branch(self, config: JsonObject, index: int) -> bool:
        """A condition has a false branch (0) and a true branch (1)."""
        return index in (0, 1)

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Evaluate; a false result with `rejectOnFalse` fails the execution."""
        if evaluate_condition(config, ctx):
            return Outcome(JobStatus.RESOLVED, result=True, branch=1)
        if config.get("rejectOnFalse") is True:
            return Outcome(JobStatus.FAILED, result=False)
        return Outcome(JobStatus.RESOLVED, result=False, branch=0)
