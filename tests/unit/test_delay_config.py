"""The delay node's config checks: one of duration and until, known units, a sane length."""

from __future__ import annotations

import pytest

from hookline.errors import Problem
from hookline.nodes.delay import DelayNode
from hookline.types import JsonObject


def problems(config: JsonObject) -> list[Problem]:
    """What the delay node finds wrong with a config."""
    return DelayNode().check(config)


@pytest.mark.parametrize(
    "config",
    [
        {"duration": 5, "unit": "seconds"},
        {"duration": 1.5, "unit": "hours", "endStatus": "failed"},
        {"duration": 2, "unit": 60000, "endStatus": -1},  # NocoBase: unit in ms, endStatus as a code
        {"duration": "{{$context.body.wait}}", "unit": "minutes"},
        {"duration": 0},
        {"duration": 500, "unit": "weeks"},  # just under the longest delay (3,660 days)
        {"until": "2026-12-24T18:00:00Z"},
        {"until": "{{$context.body.at}}"},
    ],
)
def test_valid_configs(config: JsonObject) -> None:
    """Each of these is accepted as it is."""
    assert problems(config) == []


@pytest.mark.parametrize(
    ("config", "where", "words"),
    [
        ({}, "config.duration", "either duration"),
        ({"duration": 5, "until": "2026-12-24T18:00:00Z"}, "config.duration", "not both"),
        ({"duration": -1, "unit": "seconds"}, "config.duration", "from 0 up"),
        ({"duration": "soon"}, "config.duration", "must be a number"),
        ({"duration": True}, "config.duration", "must be a number"),
        ({"duration": 600, "unit": "weeks"}, "config.duration", "longest delay"),
        ({"duration": 5, "unit": "fortnights"}, "config.unit", "must be one of"),
        ({"duration": 5, "endStatus": "done"}, "config.endStatus", "must be one of"),
        ({"until": "tomorrow"}, "config.until", "ISO 8601"),
    ],
)
def test_invalid_configs(config: JsonObject, where: str, words: str) -> None:
    """Each mistake is one problem on its field, in words a person understands."""
    found = problems(config)
    assert [problem.where for problem in found] == [where]
    assert words in found[0].message


def test_a_delay_only_runs_in_asynchronous_workflows() -> None:
    """The delay node is marked async-only, which the graph check turns into a save-time error."""
    assert DelayNode.async_only is True
