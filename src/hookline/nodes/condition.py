"""The condition node: test a calculation or an expression, then run the true (1) or false (0) branch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookline.errors import NodeError, Problem
from hookline.expressions.calc import ExpressionError, compile_expression
from hookline.expressions.calc.values import truthy
from hookline.expressions.calculators import check_calculation, evaluate_calculation
from hookline.models import JobStatus
from hookline.nodes._config import check_bool
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

EXPRESSION_ENGINES = ("math.js", "formula.js")
"""The engines whose condition is an `expression` text, as NocoBase's condition node offers them."""
ENGINES = ("basic", *EXPRESSION_ENGINES)
"""Every condition engine: `basic` tests a `calculation` tree, the others an `expression`."""


def check_condition(condition: Mapping[str, Any], prefix: str) -> list[Problem]:
    """The problems with a condition's `engine` and `calculation` or `expression`; `prefix`: `config.`."""
    engine = condition.get("engine", "basic")
    if engine not in ENGINES:
        listed = ", ".join(f'"{name}"' for name in ENGINES)
        return [Problem(f"{prefix}engine", f"must be one of {listed}")]
    if engine in EXPRESSION_ENGINES:
        return _check_expression(condition.get("expression"), engine, f"{prefix}expression")
    if condition.get("calculation") is None:
        return [Problem(f"{prefix}calculation", "is required: a group of calculations or one calculation")]
    return check_calculation(condition["calculation"], f"{prefix}calculation")


def _check_expression(expression: Any, engine: str, where: str) -> list[Problem]:
    """Parse the expression and compute its constant parts, so a broken one is refused at save."""
    if not isinstance(expression, str) or not expression.strip():
        return [Problem(where, "is required: an expression such as {{$context.body.total}} > 100")]
    try:
        compile_expression(expression, engine).check_constants()
    except ExpressionError as error:
        return [Problem(where, str(error))]
    return []


def evaluate_condition(condition: Mapping[str, Any], ctx: NodeContext) -> bool:
    """Whether a condition holds over the scope; a failing expression raises ExpressionError."""
    engine = condition.get("engine", "basic")
    if engine in EXPRESSION_ENGINES:
        # The value as a calculation node computes it (as NocoBase: NaN and Infinity are null),
        # then JavaScript's truthiness, so `{{$context.body.items}}` alone means "has items".
        return truthy(compile_expression(condition["expression"], engine).evaluate(ctx.scope))
    if engine != "basic":
        raise NodeError(f'the condition engine "{engine}" is not available')
    return evaluate_calculation(ctx.render(condition.get("calculation")))


class ConditionNode(NodeType):
    """Branch on a condition: true runs branch 1, false branch 0 (or fails with rejectOnFalse)."""

    type = "condition"
    outside_effects = False

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `rejectOnFalse`, `engine` and `calculation` or `expression`."""
        return check_bool(config, "rejectOnFalse") + check_condition(config, "config.")

    def has_branch(self, config: JsonObject, index: int) -> bool:
        """A condition has a false branch (0) and a true branch (1)."""
        return index in (0, 1)

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Evaluate; false with `rejectOnFalse` fails the execution, a failing expression is an error."""
        try:
            holds = evaluate_condition(config, ctx)
        except ExpressionError as error:
            return Outcome(JobStatus.ERROR, error.as_result())
        if holds:
            return Outcome(JobStatus.RESOLVED, result=True, branch=1)
        if config.get("rejectOnFalse") is True:
            return Outcome(JobStatus.FAILED, result=False)
        return Outcome(JobStatus.RESOLVED, result=False, branch=0)
