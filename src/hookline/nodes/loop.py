"""The loop node: run its branch once per item of a list (or per number up to a count).

As NocoBase's: `target` is a number (items 0 … n-1) or a list (its non-null items) or one value
(a list of it), templated; an optional `condition` (checked before each item, or after each item
as a do-while) stops the loop or skips the item (`continueOnFalse`); `exit` says what an item
whose branch failed does: fail the loop (0, the default), break out of it (1) or continue (2).
The engine runs the items (`Iteration`); the branch sees `$scopes.<key>.item/index/sequence/length`.
"""

from __future__ import annotations

import math
from typing import Any

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes._config import check_bool, check_choice, where
from hookline.nodes.base import Checkpoint, ItemFailure, Iteration, NodeContext, NodeType, Outcome
from hookline.nodes.condition import check_condition, evaluate_condition
from hookline.types import JsonObject, JsonValue

MAX_ITEMS = 10_000
"""The most items one loop runs: beyond it the loop is an error job rather than a runaway execution."""

EXITS: dict[Any, ItemFailure] = {
    "fail": ItemFailure.FAIL,
    "break": ItemFailure.BREAK,
    "continue": ItemFailure.CONTINUE,
    0: ItemFailure.FAIL,
    1: ItemFailure.BREAK,
    2: ItemFailure.CONTINUE,
}
"""`exit` values, NocoBase's numbers included."""

CHECKPOINTS: dict[Any, Checkpoint] = {
    "before": Checkpoint.BEFORE,
    "after": Checkpoint.AFTER,
    0: Checkpoint.BEFORE,
    1: Checkpoint.AFTER,
}
"""`condition.checkpoint` values, NocoBase's numbers included."""


class LoopNode(NodeType):
    """Repeat the branch below the node (branch 0) for each item."""

    type = "loop"

    def check(self, config: JsonObject) -> list[Problem]:
        """`target` is required; `exit` and the optional `condition` must be valid."""
        problems: list[Problem] = []
        target = config.get("target")
        if target is None or isinstance(target, bool | dict):
            problems.append(Problem(where("target"), "is required: a number, a list, or a {{ }} variable"))
        elif isinstance(target, int | float) and not _count_ok(target):
            problems.append(Problem(where("target"), f"must be a count from 0 to {MAX_ITEMS}"))
        problems += check_choice(config, "exit", EXITS)
        condition = config.get("condition")
        if condition not in (None, False):
            if not isinstance(condition, dict):
                return [*problems, Problem(where("condition"), "must be an object, or false for none")]
            problems += check_choice(condition, "checkpoint", CHECKPOINTS)
            problems += check_bool(condition, "continueOnFalse")
            problems += check_condition(condition, "config.condition.")
        return [_in_condition(problem) for problem in problems]

    def has_branch(self, config: JsonObject, index: int) -> bool:
        """A loop has one branch: the one it repeats (0)."""
        return index == 0

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """The items of the rendered target, for the engine to run the branch over."""
        try:
            items = _items(ctx.render(config["target"]))
        except ValueError as error:
            return Outcome(JobStatus.ERROR, {"message": str(error)})
        condition = config.get("condition")
        if not isinstance(condition, dict):
            return Outcome(JobStatus.RESOLVED, iterate=Iteration(items, on_failure=_exit(config)))
        return Outcome(
            JobStatus.RESOLVED,
            iterate=Iteration(
                items,
                keep_going=lambda item_ctx: evaluate_condition(condition, item_ctx),
                checkpoint=CHECKPOINTS[condition.get("checkpoint", "before")],
                skip_on_false=bool(condition.get("continueOnFalse")),
                on_failure=_exit(config),
            ),
        )


def _items(target: JsonValue) -> list[JsonValue]:
    """What a rendered target loops over; ValueError for a count that is negative or too large."""
    if isinstance(target, int | float) and not isinstance(target, bool):
        if not _count_ok(target):
            raise ValueError(f"target {target!r} is not a count from 0 to {MAX_ITEMS}")
        return list(range(math.floor(target)))
    if isinstance(target, str) and _is_number(target):
        return _items(float(target))
    items = target if isinstance(target, list) else [target]
    present = [item for item in items if item is not None]
    if len(present) > MAX_ITEMS:
        raise ValueError(f"target has {len(present)} items, more than a loop runs ({MAX_ITEMS})")
    return present


def _count_ok(count: float) -> bool:
    return math.isfinite(count) and 0 <= count <= MAX_ITEMS


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _exit(config: JsonObject) -> ItemFailure:
    return EXITS.get(config.get("exit", "fail"), ItemFailure.FAIL)


def _in_condition(problem: Problem) -> Problem:
    """Name the checkpoint and continueOnFalse problems under `config.condition`, as the others."""
    if problem.where in ("config.checkpoint", "config.continueOnFalse"):
        return Problem(problem.where.replace("config.", "config.condition.", 1), problem.message)
    return problem
