"""The condition and multi-conditions nodes with the math.js and formula.js expression engines."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes.base import Outcome
from hookline.nodes.condition import ConditionNode
from hookline.nodes.multi_conditions import MultiConditionsNode
from tests.unit._nodes import UNPAID, FakeContext

ENGINES = ["math.js", "formula.js"]
ORDER = {"total": "120.50", "items": [{"sku": "a"}], "note": "", "status": "paid"}
CTX = FakeContext({"$context": {"body": ORDER}, "$jobsMapByNodeKey": {"limit": 100}})
BIG = "{{$context.body.total}} > {{$jobsMapByNodeKey.limit}}"
SMALL = "{{$context.body.total}} <= {{$jobsMapByNodeKey.limit}}"


def condition(engine: str, expression: Any, **config: Any) -> dict[str, Any]:
    """A condition config of an expression engine."""
    return {"engine": engine, "expression": expression, **config}


# --- check at save ------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_an_expression_condition_passes_the_check(engine: str) -> None:
    """Each expression engine with a readable expression is a valid condition, in both node types."""
    assert ConditionNode().check(condition(engine, BIG, rejectOnFalse=False)) == []
    assert MultiConditionsNode().check({"conditions": [condition(engine, BIG, title="Big")]}) == []


def test_a_leftover_calculation_is_ignored_by_an_expression_engine() -> None:
    """NocoBase keeps both fields; with an expression engine only `expression` is read and checked."""
    config = condition("math.js", BIG, calculation={"group": {"type": "nand"}})
    assert ConditionNode().check(config) == []


@pytest.mark.parametrize("expression", [None, "", "  ", 1, ["a > 1"]])
def test_the_expression_is_required(expression: Any) -> None:
    """A missing, blank or non-text expression is a problem at its own path in both node types."""
    message = "is required: an expression such as {{$context.body.total}} > 100"
    assert ConditionNode().check(condition("formula.js", expression)) == [
        Problem("config.expression", message)
    ]
    config = {"conditions": [condition("math.js", BIG), condition("math.js", expression)]}
    assert MultiConditionsNode().check(config) == [Problem("config.conditions[1].expression", message)]


@pytest.mark.parametrize(
    ("engine", "expression", "message"),
    [
        ("formula.js", "{{$context.body.total}} >", "at 26: the expression ends too early"),
        (
            "formula.js",
            "9 ** 9 ** 9 > {{$context.body.total}}",
            "at 3: the power is too large (beyond ±1.8e308)",
        ),
        ("math.js", "nosuch(1) > 0", "at 1: unknown function 'nosuch' (docs/nodes.md lists them)"),
    ],
)
def test_a_bad_expression_is_refused_at_save_with_its_position(
    engine: str, expression: str, message: str
) -> None:
    """Syntax errors and constant parts that cannot be computed are problems saying where."""
    assert ConditionNode().check(condition(engine, expression)) == [Problem("config.expression", message)]


def test_the_string_engine_is_not_a_condition_engine() -> None:
    """Only basic, math.js and formula.js test a condition, as in NocoBase."""
    assert ConditionNode().check(condition("string", "yes")) == [
        Problem("config.engine", 'must be one of "basic", "math.js", "formula.js"')
    ]


# --- run ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_true_expression_runs_the_true_branch(engine: str) -> None:
    """A true expression over the variables resolves with true and picks branch 1."""
    outcome = await ConditionNode().run(condition(engine, BIG), CTX)
    assert outcome == Outcome(JobStatus.RESOLVED, result=True, branch=1)


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_false_expression_runs_the_false_branch_or_fails(engine: str) -> None:
    """A false expression picks branch 0, or fails the job with rejectOnFalse."""
    assert await ConditionNode().run(condition(engine, SMALL), CTX) == Outcome(
        JobStatus.RESOLVED, result=False, branch=0
    )
    assert await ConditionNode().run(condition(engine, SMALL, rejectOnFalse=True), CTX) == Outcome(
        JobStatus.FAILED, result=False
    )


@pytest.mark.parametrize(
    ("engine", "expression"),
    [
        ("math.js", "2 ^ 3 == 8 and {{$context.body.status}} == 'paid'"),
        ("formula.js", "'a' + 1 === 'a1' && -7 % 3 === -1"),
        ("math.js", "-7 % 3 == 2"),
    ],
)
async def test_each_engine_keeps_its_own_syntax(engine: str, expression: str) -> None:
    """math.js and formula.js read `^`, `+`, `%` and `and`/`&&` as each does."""
    assert (await ConditionNode().run(condition(engine, expression), CTX)).result is True


@pytest.mark.parametrize(
    ("value", "holds"),
    [
        (0, False),
        ("", False),
        (None, False),
        (False, False),
        ("0", True),
        ("false", True),
        (-1, True),
        ([], True),
        ({}, True),
    ],
)
async def test_the_value_is_tested_with_javascript_truthiness(value: Any, holds: bool) -> None:
    """A lone variable holds as JavaScript would say: empty text, 0 and null are false, lists are true."""
    ctx = FakeContext({"$context": {"body": {"value": value}}})
    outcome = await ConditionNode().run(condition("formula.js", "{{$context.body.value}}"), ctx)
    assert (outcome.result, outcome.branch) == (holds, 1 if holds else 0)


@pytest.mark.parametrize(
    ("expression", "holds"), [("0 / 0", False), ("1 / 0", False), ("0.1 + 0.2 - 0.3", False)]
)
async def test_the_value_is_the_one_a_calculation_gives(expression: str, holds: bool) -> None:
    """NaN and Infinity are null and numbers round to 9 decimals, as NocoBase tests them."""
    ctx = FakeContext({"$context": {"body": {"zero": 0}}})
    outcome = await ConditionNode().run(
        condition("formula.js", f"{{{{$context.body.zero}}}} + {expression}"), ctx
    )
    assert outcome.result is holds


async def test_an_expression_that_cannot_be_computed_is_an_error_job() -> None:
    """A run-time failure ends the job as error with the message and its position, and runs no branch."""
    outcome = await ConditionNode().run(condition("formula.js", "ROUND({{$context.body.status}}) > 1"), CTX)
    assert outcome == Outcome(
        JobStatus.ERROR, {"message": "at 1: ROUND: needs a number, got 'paid'", "position": 0}
    )


# --- multi-conditions ---------------------------------------------------------------------------


async def test_multi_conditions_mix_engines_and_take_the_first_true() -> None:
    """A basic condition and expression conditions are tested in order; the first true one wins."""
    config = {
        "conditions": [
            {"engine": "basic", "calculation": UNPAID},
            condition("math.js", SMALL),
            condition("formula.js", "{{$context.body.items}}"),
            condition("math.js", BIG),
        ]
    }
    outcome = await MultiConditionsNode().run(config, CTX)
    assert outcome == Outcome(
        JobStatus.RESOLVED, result=3, branch=3, meta={"conditions": [False, False, True]}
    )


async def test_multi_conditions_stop_at_an_expression_that_cannot_be_computed() -> None:
    """A failing condition is an error job; meta lists the values so far and its message; no more run."""
    config = {
        "continueOnNoMatch": True,
        "conditions": [
            condition("formula.js", SMALL),
            condition("formula.js", "ROUND({{$context.body.status}}) > 1"),
            condition("formula.js", BIG),
        ],
    }
    message = "at 1: ROUND: needs a number, got 'paid'"
    outcome = await MultiConditionsNode().run(config, CTX)
    assert outcome == Outcome(
        JobStatus.ERROR, {"message": message, "position": 0}, meta={"conditions": [False, message]}
    )
