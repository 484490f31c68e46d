"""The multi-conditions node: the first true condition i runs branch i+1; no match runs branch 0."""

from __future__ import annotations

from typing import Any

from hookline.errors import Problem
from hookline.expressions.calc import ExpressionError
from hookline.models import JobStatus
from hookline.nodes._config import check_bool
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.condition import check_condition, evaluate_condition
from hookline.types import JsonObject


def _conditions(config: JsonObject) -> list[Any]:
    """The configured conditions; none when the field is missing or malformed."""
    conditions = config.get("conditions")
    return conditions if isinstance(conditions, list) else []


class MultiConditionsNode(NodeType):
    """Run the branch of the first true condition, or the default branch 0 when none matches."""

    type = "multi-conditions"
    outside_effects = False

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `conditions` (each like a condition node's) and `continueOnNoMatch`."""
        problems = check_bool(config, "continueOnNoMatch")
        conditions = config.get("conditions")
        if conditions is not None and not isinstance(conditions, list):
            return [*problems, Problem("config.conditions", "must be a list of conditions")]
        for index, condition in enumerate(_conditions(config)):
            place = f"config.conditions[{index}]"
            if isinstance(condition, dict):
                problems += check_condition(condition, f"{place}.")
            else:
                problems.append(Problem(place, 'must be an object with "calculation" or "expression"'))
        return problems

    def has_branch(self, config: JsonObject, index: int) -> bool:
        """Branch 0 is the default; branch i+1 belongs to condition i."""
        return 0 <= index <= len(_conditions(config))

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Evaluate in order up to the first match; result is its branch index, 0 for no match.

        An expression that cannot be computed stops there as an error job, as in NocoBase.
        """
        evaluated: list[Any] = []
        for index, condition in enumerate(_conditions(config)):
            try:
                matched = evaluate_condition(condition, ctx)
            except ExpressionError as error:
                evaluated.append(str(error))
                return Outcome(JobStatus.ERROR, error.as_result(), meta={"conditions": evaluated})
            evaluated.append(matched)
            if matched:
                return Outcome(
                    JobStatus.RESOLVED, result=index + 1, branch=index + 1, meta={"conditions": evaluated}
                )
        # No match runs the default branch either way; without continueOnNoMatch the
        # execution then fails there, as in NocoBase.
        status = JobStatus.RESOLVED if config.get("continueOnNoMatch") is True else JobStatus.FAILED
        return Outcome(status, result=0, branch=0, meta={"conditions": evaluated})
