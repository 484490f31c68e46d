"""Tests for the checks of a webhook trigger's config and of workflow options."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.errors import Problem
from hookline.header_fields import NAME_RULE
from hookline.trigger.config import check_trigger_config
from hookline.trigger.options import check_options

GOOD_CONFIG: dict[str, Any] = {
    "basicAuthentication": {"username": "shop", "password": "s3cret"},
    "request": {
        "headers": [{"key": "X-Request-Id"}],
        "query": [{"key": "query[0].a", "alias": "A", "_var": "query_$0"}],
        "body": [{"key": "order.id", "alias": "Order id"}, {"key": "order.status", "alias": None}],
    },
    "response": {
        "statusCode": 202,
        "headers": [{"name": "X-Accepted", "value": "{{$context.body.id}}"}],
        "body": {},
    },
}


def wheres(problems: list[Problem]) -> list[str]:
    """The `where` of each problem, in order."""
    return [problem.where for problem in problems]


@pytest.mark.parametrize("sync", [True, False])
def test_good_trigger_config_has_no_problems(sync: bool) -> None:
    """A config using every field correctly passes in both modes."""
    assert check_trigger_config(GOOD_CONFIG, sync=sync) == []


@pytest.mark.parametrize("config", [{}, {"basicAuthentication": False}, {"basicAuthentication": None}])
def test_minimal_trigger_configs_are_valid(config: dict[str, Any]) -> None:
    """Every field is optional, and Basic authentication may be switched off."""
    assert check_trigger_config(config, sync=False) == []


def test_trigger_config_must_be_an_object() -> None:
    """A list or a string is not a trigger config."""
    assert check_trigger_config([], sync=True) == [Problem("config", "must be an object")]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"extra": 1}, "config.extra"),
        ({"basicAuthentication": True}, "config.basicAuthentication"),
        ({"basicAuthentication": {"username": "", "password": "x"}}, "config.basicAuthentication.username"),
        ({"basicAuthentication": {"username": "u"}}, "config.basicAuthentication.password"),
        (
            {"basicAuthentication": {"username": "u", "password": "p", "realm": "x"}},
            "config.basicAuthentication.realm",
        ),
        ({"request": []}, "config.request"),
        ({"request": {"cookies": []}}, "config.request.cookies"),
        ({"request": {"query": {"key": "a"}}}, "config.request.query"),
        ({"request": {"body": [{"key": "a"}, {"key": "b"}, {"alias": "c"}]}}, "config.request.body[2].key"),
        ({"request": {"headers": ["Date"]}}, "config.request.headers[0]"),
        ({"request": {"query": [{"key": "a", "alias": 3}]}}, "config.request.query[0].alias"),
        ({"request": {"query": [{"key": "a", "_var": 3}]}}, "config.request.query[0]._var"),
        ({"request": {"query": [{"key": "a", "path": "b"}]}}, "config.request.query[0].path"),
        ({"response": "ok"}, "config.response"),
        ({"response": {"statusCode": 199}}, "config.response.statusCode"),
        ({"response": {"statusCode": 600}}, "config.response.statusCode"),
        ({"response": {"statusCode": "200"}}, "config.response.statusCode"),
        ({"response": {"statusCode": True}}, "config.response.statusCode"),
        ({"response": {"headers": {}}}, "config.response.headers"),
        ({"response": {"headers": [{"name": "bad:", "value": "x"}]}}, "config.response.headers[0].name"),
        ({"response": {"headers": [{"value": "x"}]}}, "config.response.headers[0].name"),
        ({"response": {"headers": [{"name": "X-A", "value": "a\nb"}]}}, "config.response.headers[0].value"),
        ({"response": {"headers": [{"name": "X-A b", "value": "x"}]}}, "config.response.headers[0].name"),
        ({"response": {"headers": [{"name": "X-A", "value": 1}]}}, "config.response.headers[0].value"),
        ({"response": {"headers": [{"name": "X-A", "value": "1", "x": 1}]}}, "config.response.headers[0].x"),
        ({"response": {"status": 200}}, "config.response.status"),
    ],
)
def test_bad_trigger_config_fields_are_named(change: dict[str, Any], where: str) -> None:
    """Each wrong field gives exactly one problem, at its path."""
    assert wheres(check_trigger_config({**GOOD_CONFIG, **change}, sync=False)) == [where]


@pytest.mark.parametrize(
    "name",
    [
        "Content-Length",
        "transfer-encoding",
        "Connection",
        "Keep-Alive",
        "Upgrade",
        "TE",
        "Trailer",
        "Proxy-Connection",
        "X-Hookline-Execution",
        "X-Hookline-Duplicate",
    ],
)
def test_answer_headers_that_hookline_sets_itself_are_refused(name: str) -> None:
    """Framing, hop-by-hop and hookline's own headers are refused in `config.response.headers`, saying why."""
    config = {"response": {"headers": [{"name": "X-Ok", "value": "1"}, {"name": name, "value": "1"}]}}
    assert check_trigger_config(config, sync=False) == [
        Problem("config.response.headers[1].name", f"hookline sets {name!r} itself; a workflow cannot set it")
    ]


def test_answer_header_names_are_rfc_9110_tokens() -> None:
    """A name may be any token (digits first, `!#$%&'*+.^_`|~`); a space, a colon or non-ASCII is refused."""
    good = [{"name": "1x!#$%&'*+.^_`|~", "value": "€ {{$context.body.a}}\t"}]
    assert check_trigger_config({"response": {"headers": good}}, sync=False) == []
    bad = [{"name": name, "value": "1"} for name in ("X A", "X:A", "Zähler", "X\r\nA")]
    assert check_trigger_config({"response": {"headers": bad}}, sync=False) == [
        Problem(f"config.response.headers[{index}].name", NAME_RULE) for index in range(4)
    ]


def test_control_characters_in_the_fixed_text_of_an_answer_header_are_refused() -> None:
    """A control character outside `{{ }}` could never be sent; inside a placeholder it is not text."""
    headers = [
        {"name": "X-A", "value": "{{$context.body.a\n}}"},
        {"name": "X-B", "value": "b\x7f{{$context.body.a}}"},
    ]
    assert check_trigger_config({"response": {"headers": headers}}, sync=False) == [
        Problem("config.response.headers[1].value", "holds the control character U+007F")
    ]


def test_trigger_config_reports_every_problem() -> None:
    """Several wrong fields are all reported, in the order of the config."""
    config = {
        "basicAuthentication": "yes",
        "request": {"body": [{"key": 1}]},
        "response": {"statusCode": 100},
    }
    assert wheres(check_trigger_config(config, sync=True)) == [
        "config.basicAuthentication",
        "config.request.body[0].key",
        "config.response.statusCode",
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"timeout": 0},
        {"timeout": 5000, "concurrency": 4, "queueLimit": 1000},
        {"concurrency": None, "queueLimit": None, "dedupe": None, "retention": None},
        {"dedupe": {"source": "headers.Idempotency-Key", "window": 86400}},
        {"dedupe": {"source": "body.id"}},
        {"retention": {"successDays": 0}},
        {"retention": {"successDays": 7, "maxAgeDays": 90}},
    ],
)
def test_good_options_have_no_problems(options: dict[str, Any]) -> None:
    """Each documented option accepts its documented values."""
    assert check_options(options) == []


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"timeout": -1}, "options.timeout"),
        ({"timeout": 1.5}, "options.timeout"),
        ({"timeout": True}, "options.timeout"),
        ({"timeout": None}, "options.timeout"),
        ({"concurrency": 0}, "options.concurrency"),
        ({"concurrency": "4"}, "options.concurrency"),
        ({"queueLimit": 0}, "options.queueLimit"),
        ({"dedupe": "Idempotency-Key"}, "options.dedupe"),
        ({"dedupe": {"window": 60}}, "options.dedupe.source"),
        ({"dedupe": {"source": "body.id", "window": 0}}, "options.dedupe.window"),
        ({"dedupe": {"source": "header:Idempotency-Key"}}, "options.dedupe.source"),
        ({"dedupe": {"source": "body.id", "window": 31 * 86400}}, "options.dedupe.window"),
        ({"dedupe": {"source": "body.id", "scope": "all"}}, "options.dedupe.scope"),
        ({"retention": 30}, "options.retention"),
        ({"retention": "failed"}, "options.retention"),
        ({"retention": {"keep": "all"}}, "options.retention.keep"),
        ({"retention": {"successDays": -1}}, "options.retention.successDays"),
        ({"retention": {"maxAgeDays": 0}}, "options.retention.maxAgeDays"),
        ({"retries": 3}, "options.retries"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], where: str) -> None:
    """Each wrong option gives exactly one problem, at its path."""
    assert wheres(check_options(options)) == [where]


def test_options_must_be_an_object() -> None:
    """A list is not a set of options."""
    assert check_options([5000]) == [Problem("options", "must be an object")]


def test_header_items_may_be_marked_secret() -> None:
    """A header item may carry `"secret": true` (its value is then redacted); it must be a boolean."""
    good = {
        "request": {"headers": [{"key": "X-Shop-Token", "secret": True}, {"key": "Date", "secret": False}]}
    }
    assert check_trigger_config(good, sync=False) == []
    bad = {"request": {"headers": [{"key": "X-Shop-Token", "secret": "yes"}]}}
    assert [p.where for p in check_trigger_config(bad, sync=False)] == ["config.request.headers[0].secret"]


def test_only_header_items_can_be_secret() -> None:
    """Query and body items have no `secret` field: the whole query and body are kept as they came."""
    config = {"request": {"query": [{"key": "token", "secret": True}]}}
    assert [p.where for p in check_trigger_config(config, sync=False)] == ["config.request.query[0].secret"]
