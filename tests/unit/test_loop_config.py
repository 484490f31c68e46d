"""The loop node's config checks: a target, a known exit, and a valid optional condition."""

from __future__ import annotations

import pytest

from hookline.errors import Problem
from hookline.nodes.loop import LoopNode
from hookline.types import JsonObject

BASIC = {
    "group": {"type": "and", "calculations": [{"calculator": "gt", "operands": ["{{$scopes.loop.item}}", 1]}]}
}


def problems(config: JsonObject) -> list[Problem]:
    """What the loop node finds wrong with a config."""
    return LoopNode().check(config)


@pytest.mark.parametrize(
    "config",
    [
        {"target": 3},
        {"target": [1, 2]},
        {"target": "{{$context.body.items}}", "exit": "continue"},
        {"target": 2, "exit": 1},
        {"target": 2, "condition": False},
        {"target": 2, "condition": {"calculation": BASIC, "checkpoint": 1, "continueOnFalse": True}},
        {"target": 2, "condition": {"engine": "math.js", "expression": "{{$scopes.loop.index}} < 5"}},
    ],
)
def test_valid_configs(config: JsonObject) -> None:
    """Each of these is accepted as it is (NocoBase's numeric exit and checkpoint included)."""
    assert problems(config) == []


@pytest.mark.parametrize(
    ("config", "where", "words"),
    [
        ({}, "config.target", "is required"),
        ({"target": True}, "config.target", "is required"),
        ({"target": -1}, "config.target", "a count from 0"),
        ({"target": 10_001}, "config.target", "a count from 0"),
        ({"target": 2, "exit": "stop"}, "config.exit", "must be one of"),
        ({"target": 2, "condition": "yes"}, "config.condition", "must be an object"),
        (
            {"target": 2, "condition": {"calculation": BASIC, "checkpoint": 3}},
            "config.condition.checkpoint",
            "",
        ),
        (
            {"target": 2, "condition": {"calculation": BASIC, "continueOnFalse": 1}},
            "config.condition.continueOnFalse",
            "",
        ),
        ({"target": 2, "condition": {}}, "config.condition.calculation", "is required"),
        (
            {"target": 2, "condition": {"engine": "math.js", "expression": "1 +"}},
            "config.condition.expression",
            "",
        ),
    ],
)
def test_invalid_configs(config: JsonObject, where: str, words: str) -> None:
    """Each mistake is one problem on its field."""
    found = problems(config)
    assert [problem.where for problem in found] == [where]
    assert words in found[0].message


def test_a_loop_has_one_branch() -> None:
    """Only branch 0 (the repeated one) may hang below a loop."""
    loop = LoopNode()
    assert [loop.has_branch({}, index) for index in (0, 1)] == [True, False]
