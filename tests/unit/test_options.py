"""Workflow options: the check and the parse agree, because the parse reads only what the check accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.errors import Problem
from hookline.models import ExecutionStatus, Limits
from hookline.store.execution_history import RetentionRule
from hookline.store.retention import Retention, retention_rules
from hookline.trigger.dedupe import DEFAULT_WINDOW, DedupeSource
from hookline.trigger.options import NO_OPTIONS, OPTION_FIELDS, WorkflowOptions, check_options, parse_options
from hookline.trigger.rate_rule import RateRule

NOW = datetime(2026, 12, 4, tzinfo=UTC)

SAMPLES: dict[str, list[Any]] = {
    "timeout": [0, 1, 5000, -1, 1.5, True, "5000", None],
    "concurrency": [1, 4, 0, -2, 2.0, False, "4", None],
    "queueLimit": [1, 1000, 0, True, [3], None],
    "dedupe": [
        {"source": "headers.Idempotency-Key"},
        {"source": "body.order.id", "window": 60},
        {"source": "query.id[0]", "window": 30 * 86_400},
        {"source": "body.id", "window": 0},
        {"source": "body.id", "window": True},
        {"source": "body.id", "scope": "all"},
        {"source": "headers.Authorization"},
        {"window": 60},
        "headers.idempotency-key",
        None,
    ],
    "retention": [
        {},
        {"successDays": 0},
        {"successDays": 7, "maxAgeDays": 90},
        {"successDays": -1},
        {"maxAgeDays": 0},
        {"successDays": True},
        {"keep": "all"},
        30,
        None,
    ],
    "rateLimit": [
        {"requests": 100, "per": "minute"},
        {"requests": 1, "per": "second", "by": "ip"},
        {"requests": 0, "per": "second"},
        {"requests": 1, "per": "hour"},
        {"requests": 1, "per": "second", "burst": 5},
        "100/minute",
        None,
    ],
}
"""Valid and invalid values of every option."""

ATTRIBUTES = {
    "timeout": "timeout_ms",
    "concurrency": "concurrency",
    "queueLimit": "queue_limit",
    "dedupe": "dedupe",
    "retention": "retention",
    "rateLimit": "rate_limit",
}
"""Where each option lands in `WorkflowOptions`."""


def test_every_option_has_samples_and_a_place() -> None:
    """The samples and the attribute map cover every option there is."""
    assert set(SAMPLES) == set(ATTRIBUTES) == set(OPTION_FIELDS)


@pytest.mark.parametrize(
    ("options", "parsed"),
    [
        ({}, NO_OPTIONS),
        ({"timeout": 0, "concurrency": None, "queueLimit": None, "dedupe": None}, NO_OPTIONS),
        ({"timeout": 5000}, WorkflowOptions(timeout_ms=5000)),
        ({"concurrency": 4, "queueLimit": 1000}, WorkflowOptions(concurrency=4, queue_limit=1000)),
        (
            {"dedupe": {"source": "headers.Idempotency-Key"}},
            WorkflowOptions(dedupe=DedupeSource("headers", ("idempotency-key",), DEFAULT_WINDOW)),
        ),
        (
            {"dedupe": {"source": "body.order.id", "window": 60}},
            WorkflowOptions(dedupe=DedupeSource("body", ("order", "id"), 60)),
        ),
        (
            {"rateLimit": {"requests": 5, "per": "second", "by": "ip"}},
            WorkflowOptions(rate_limit=RateRule(5, "second", 1, by_ip=True)),
        ),
        ({"retention": {"successDays": 0}}, WorkflowOptions(retention=Retention(success_days=0))),
        ({"retention": {"maxAgeDays": 90}}, WorkflowOptions(retention=Retention(max_age_days=90))),
    ],
)
def test_valid_options_pass_the_check_and_are_parsed(
    options: dict[str, Any], parsed: WorkflowOptions
) -> None:
    """A documented value has no problem, and its typed form is what the parse gives."""
    assert check_options(options) == []
    assert parse_options(options) == parsed


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"timeout": True}, "options.timeout"),
        ({"timeout": None}, "options.timeout"),
        ({"timeout": -5}, "options.timeout"),
        ({"concurrency": 0}, "options.concurrency"),
        ({"queueLimit": "10"}, "options.queueLimit"),
        ({"dedupe": {"source": "body.id", "scope": "all"}}, "options.dedupe.scope"),
        ({"dedupe": {"source": "body.id", "window": 0}}, "options.dedupe.window"),
        ({"retention": {"successDays": -1}}, "options.retention.successDays"),
        ({"retention": {"successDays": 7, "maxAgeDays": 0}}, "options.retention.maxAgeDays"),
        ({"rateLimit": {"requests": 1, "per": "second", "burst": 5}}, "options.rateLimit.burst"),
    ],
)
def test_an_invalid_option_is_reported_and_ignored(options: dict[str, Any], where: str) -> None:
    """The check names the problem; the parse leaves that option at its default, the others as set."""
    assert [problem.where for problem in check_options(options)] == [where]
    assert parse_options(options) == NO_OPTIONS
    assert parse_options({**options, "concurrency": 3}).concurrency == 3


def test_an_invalid_timeout_means_no_timeout() -> None:
    """`true` is refused when saved and ignored when read: no 1 ms timeout, no timeout at all."""
    assert parse_options({"timeout": True}).timeout_ms == 0
    assert parse_options({"timeout": True}).timeout_seconds == 0.0
    assert parse_options({"timeout": 1500}).timeout_seconds == 1.5


def test_unknown_options_are_reported_and_ignored() -> None:
    """An unknown field is a problem; the known options beside it are still read."""
    options = {"retries": 3, "timeout": 100}
    assert check_options(options) == [Problem("options.retries", "unknown field 'retries'")]
    assert parse_options(options) == WorkflowOptions(timeout_ms=100)


@pytest.mark.parametrize("options", [[5000], "fast", None, 7])
def test_options_that_are_no_object_are_refused_and_read_as_none(options: Any) -> None:
    """Not an object: one problem at `options`, and every option at its default."""
    assert check_options(options) == [Problem("options", "must be an object")]
    assert parse_options(options) is NO_OPTIONS


def test_problems_come_in_the_order_of_the_options() -> None:
    """Unknown fields first, then each option in the documented order."""
    options = {"rateLimit": 1, "retention": 1, "dedupe": 1, "queueLimit": 0, "concurrency": 0, "timeout": -1}
    wheres = [problem.where for problem in check_options({"x": 1, **options})]
    assert wheres == ["options.x", *(f"options.{name}" for name in OPTION_FIELDS)]


@given(
    st.fixed_dictionaries({}, optional={name: st.sampled_from(values) for name, values in SAMPLES.items()})
)
def test_the_parse_reads_exactly_the_options_the_check_accepts(options: dict[str, Any]) -> None:
    """In any mix, an option is read when set, not null and without a problem; else it keeps its default."""
    problems = check_options(options)
    parsed = parse_options(options)
    for name, attribute in ATTRIBUTES.items():
        wrong = any(p.where == f"options.{name}" or p.where.startswith(f"options.{name}.") for p in problems)
        read, default = getattr(parsed, attribute), getattr(NO_OPTIONS, attribute)
        if options.get(name) is None or wrong:
            assert read == default
        else:
            assert read != default or options[name] == 0  # a timeout of 0 is the default


def test_limits_take_the_default_queue_limit_only_without_an_own_one() -> None:
    """The process's default queue limit stands in for a missing `queueLimit`; nothing gives no limits."""
    assert parse_options({}).limits() is None
    assert parse_options({}).limits(50) == Limits(default_queue_limit=50)
    assert parse_options({"queueLimit": 5}).limits(50) == Limits(queue_limit=5)
    assert parse_options({"queueLimit": 0}).limits(50) == Limits(default_queue_limit=50)
    assert parse_options({"concurrency": 2}).limits() == Limits(concurrency=2)


def test_the_janitor_rules_follow_the_parsed_retention() -> None:
    """A valid retention gives its rules; an invalid one is ignored and deletes nothing."""
    kept = parse_options({"retention": {"successDays": 7, "maxAgeDays": 90}}).retention
    assert retention_rules(kept, [1, 2], NOW) == [
        RetentionRule((1, 2), NOW - timedelta(days=7), (ExecutionStatus.RESOLVED,)),
        RetentionRule((1, 2), NOW - timedelta(days=90)),
    ]
    assert retention_rules(parse_options({"retention": {}}).retention, [1], NOW) == []
    assert retention_rules(parse_options({"retention": {"successDays": -1}}).retention, [1], NOW) == []
    assert retention_rules(None, [1], NOW) == []
