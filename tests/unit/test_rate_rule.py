"""`options.rateLimit`: what a workflow saves is checked field by field, and read once per version."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.errors import Problem
from hookline.trigger.options import check_options, parse_options
from hookline.trigger.rate_rule import RateRule


@pytest.mark.parametrize(
    ("setting", "rule"),
    [
        ({"requests": 100, "per": "minute"}, RateRule(100, "minute", 60, by_ip=False)),
        ({"requests": 5, "per": "second", "by": "workflow"}, RateRule(5, "second", 1, by_ip=False)),
        ({"requests": 1, "per": "second", "by": "ip"}, RateRule(1, "second", 1, by_ip=True)),
    ],
)
def test_a_valid_rate_limit_is_read_into_a_rule(setting: dict[str, Any], rule: RateRule) -> None:
    """A valid setting passes the checks and becomes the limiter's rule; `by` defaults to workflow."""
    assert check_options({"rateLimit": setting}) == []
    assert parse_options({"rateLimit": setting}).rate_limit == rule


def test_no_rate_limit_is_no_rule() -> None:
    """Without the option, or with null, there is no rule, and nothing to complain about."""
    assert parse_options({}).rate_limit is None
    assert parse_options({"rateLimit": None}).rate_limit is None
    assert check_options({"rateLimit": None}) == []


@pytest.mark.parametrize(
    ("setting", "problems"),
    [
        (
            "100/minute",
            [
                Problem(
                    "options.rateLimit", 'must be an object like {"requests": 100, "per": "minute"}, or null'
                )
            ],
        ),
        ({"per": "second"}, [Problem("options.rateLimit.requests", "must be a whole number, 1 or more")]),
        (
            {"requests": 0, "per": "second"},
            [Problem("options.rateLimit.requests", "must be a whole number, 1 or more")],
        ),
        (
            {"requests": 2.5, "per": "second"},
            [Problem("options.rateLimit.requests", "must be a whole number, 1 or more")],
        ),
        (
            {"requests": True, "per": "second"},
            [Problem("options.rateLimit.requests", "must be a whole number, 1 or more")],
        ),
        ({"requests": 1}, [Problem("options.rateLimit.per", 'must be "second" or "minute"')]),
        ({"requests": 1, "per": "hour"}, [Problem("options.rateLimit.per", 'must be "second" or "minute"')]),
        (
            {"requests": 1, "per": ["second"]},
            [Problem("options.rateLimit.per", 'must be "second" or "minute"')],
        ),
        (
            {"requests": 1, "per": "second", "by": "user"},
            [Problem("options.rateLimit.by", 'must be "workflow" or "ip" (when given)')],
        ),
        (
            {"requests": 1, "per": "second", "burst": 5},
            [Problem("options.rateLimit.burst", "unknown field 'burst'")],
        ),
    ],
)
def test_a_bad_rate_limit_names_each_problem(setting: Any, problems: list[Problem]) -> None:
    """Each wrong field is a problem at its own place; the invalid setting gives no rule."""
    assert check_options({"rateLimit": setting}) == problems
    assert parse_options({"rateLimit": setting}).rate_limit is None


def test_every_problem_of_a_rate_limit_is_reported() -> None:
    """A setting wrong in three ways gives three problems, in the order of its fields."""
    setting = {"requests": -1, "per": "day", "by": "host"}
    wheres = [problem.where for problem in check_options({"rateLimit": setting})]
    assert wheres == ["options.rateLimit.requests", "options.rateLimit.per", "options.rateLimit.by"]
