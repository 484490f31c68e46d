"""The calculation node: evaluate a safe expression over the variables; its value is the result."""

from __future__ import annotations

from hookline.errors import Problem
from hookline.expressions.calc import ENGINES, ExpressionError, compile_expression
from hookline.models import JobStatus
from hookline.nodes._config import where
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

DEFAULT_ENGINE = "math.js"
"""The engine of a config that names none, as in NocoBase."""


class CalculationNode(NodeType):
    """Compute a value (a total, a text, a date, a yes/no) from the execution's variables."""

    type = "calculation"
    outside_effects = False

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `engine` (one of ENGINES) and `expression` (parsed, constants computed)."""
        engine = config.get("engine", DEFAULT_ENGINE)
        if engine not in ENGINES:
            listed = ", ".join(f'"{name}"' for name in ENGINES)
            return [Problem(where("engine"), f"must be one of {listed}")]
        expression = config.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            return [
                Problem(
                    where("expression"), "is required: an expression such as {{$context.body.price}} * 1.2"
                )
            ]
        try:
            compile_expression(expression, engine).check_constants()
        except ExpressionError as error:
            return [Problem(where("expression"), str(error))]
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """The expression's value; an expression that cannot be computed is an error job saying where."""
        engine = config.get("engine", DEFAULT_ENGINE)
        try:
            value = compile_expression(config["expression"], engine).evaluate(ctx.scope)
        except ExpressionError as error:
            return Outcome(JobStatus.ERROR, error.as_result())
        return Outcome(JobStatus.RESOLVED, result=value)
