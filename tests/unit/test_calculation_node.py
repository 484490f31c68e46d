"""The calculation node: its config check at save, and its run over a fake context."""

from __future__ import annotations

import pytest

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes.calculation import CalculationNode
from hookline.nodes.registry import node_type
from tests.unit._nodes import FakeContext

NODE = CalculationNode()
CTX = FakeContext({"$context": {"body": {"price": "10.00", "qty": 3}}, "$jobsMapByNodeKey": {"tax": 0.2}})


def test_the_node_is_registered() -> None:
    """`calculation` is a built-in node type."""
    assert isinstance(node_type("calculation"), CalculationNode)


@pytest.mark.parametrize("engine", ["math.js", "formula.js", "string"])
def test_a_valid_config_has_no_problems(engine: str) -> None:
    """Each accepted engine with a readable expression passes the check."""
    assert NODE.check({"engine": engine, "expression": "{{$context.body.qty}}"}) == []


def test_an_unknown_engine_is_refused_with_the_list() -> None:
    """An engine hookline does not run is a problem at config.engine that lists the accepted ones."""
    problems = NODE.check({"engine": "python", "expression": "1"})
    assert problems == [Problem("config.engine", 'must be one of "math.js", "formula.js", "string"')]


@pytest.mark.parametrize("expression", [None, "", "   ", 12])
def test_the_expression_is_required(expression: object) -> None:
    """A missing, blank or non-text expression is a problem at config.expression."""
    problems = NODE.check({"engine": "formula.js", "expression": expression})
    assert [problem.where for problem in problems] == ["config.expression"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("{{$context.body.qty}} *", "at 24: the expression ends too early"),
        ("9 ** 9 ** 9", "at 3: the power is too large (beyond ±1.8e308)"),
        ("REPT('x', 1000000)", "at 1: REPT: the text would be longer than 100000 characters"),
        ("x" * 10_001, "at 10001: the expression is longer than 10000 characters"),
    ],
)
def test_a_bad_expression_is_refused_at_save_with_its_position(expression: str, message: str) -> None:
    """Syntax errors and constant parts that cannot be computed are problems with a position."""
    assert NODE.check({"engine": "formula.js", "expression": expression}) == [
        Problem("config.expression", message)
    ]


def test_the_engine_defaults_to_math_js() -> None:
    """Without `engine` the expression is math.js, as in NocoBase (`^` is the power)."""
    assert NODE.check({"expression": "2 ^ 3"}) == []


async def test_the_result_is_the_value() -> None:
    """The job's result is the expression's value over the execution's variables."""
    config = {
        "engine": "formula.js",
        "expression": "{{$context.body.price}} * {{$context.body.qty}} * (1 + {{$jobsMapByNodeKey.tax}})",
    }
    outcome = await NODE.run(config, CTX)
    assert (outcome.status, outcome.result) == (JobStatus.RESOLVED, 36)


async def test_a_run_time_error_is_an_error_job_with_its_position() -> None:
    """A step that cannot be computed ends the job as an error saying what and where."""
    config = {"engine": "formula.js", "expression": "ROUND({{$context.body.qty}}, 'x')"}
    outcome = await NODE.run(config, CTX)
    assert outcome.status is JobStatus.ERROR
    assert outcome.result == {"message": "at 1: ROUND: needs a number, got 'x'", "position": 0}
