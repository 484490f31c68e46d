"""Tests for building the trigger context from a parsed request and the trigger config."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from hookline.trigger.config import check_trigger_config
from hookline.trigger.context import REDACTED, REDACTED_HEADERS, build_context, configured_items
from hookline.trigger.query import parse_query

HEADERS = [
    ("Host", "example.test"),
    ("Content-Type", "application/json"),
    ("Authorization", "Basic d2ViaG9vazpzM2NyZXQ="),
    ("Cookie", "session=abc"),
    ("Proxy-Authorization", "Basic eDp5"),
    ("X-Request-Id", "r-1"),
    ("Accept", "text/html"),
    ("accept", "application/json"),
]


def test_header_names_are_lower_cased_and_repeats_joined() -> None:
    """Every header appears under its lower-case name; repeated ones are joined with a comma."""
    headers = build_context(HEADERS, {}, None, {})["headers"]
    assert headers["host"] == "example.test"
    assert headers["x-request-id"] == "r-1"
    assert headers["accept"] == "text/html, application/json"
    assert all(name == name.lower() for name in headers)


def test_credential_headers_are_redacted() -> None:
    """Authorization, Cookie and Proxy-Authorization values never reach the context."""
    headers = build_context(HEADERS, {}, None, {})["headers"]
    assert {"authorization", "cookie", "proxy-authorization"} <= REDACTED_HEADERS
    for name in ("authorization", "cookie", "proxy-authorization"):
        assert headers[name] == REDACTED
    assert "s3cret" not in str(headers)
    assert "d2ViaG9vazpzM2NyZXQ=" not in str(headers)


def test_repeated_credential_header_is_redacted_once() -> None:
    """Two Cookie headers still give a single redacted value."""
    headers = build_context([("Cookie", "a=1"), ("cookie", "b=2")], {}, None, {})["headers"]
    assert headers == {"cookie": REDACTED}


def test_configured_signature_header_is_redacted() -> None:
    """The header named in the signature config is redacted, matched case-insensitively."""
    config = {"signature": {"header": "X-Hub-Signature-256"}}
    headers = build_context([("x-hub-signature-256", "sha256=abc")], {}, None, config)["headers"]
    assert headers == {"x-hub-signature-256": REDACTED}


def test_configured_headers_are_present_whatever_their_case() -> None:
    """Configured header names appear lower-cased, with the request's value or null when it is absent."""
    config = {"request": {"headers": [{"key": "X-Request-ID"}, {"key": "Date"}, {"key": "x-missing"}]}}
    headers = build_context([("x-request-id", "r-1")], {}, None, config)["headers"]
    assert headers == {"x-request-id": "r-1", "date": None, "x-missing": None}


def test_query_var_gets_the_value_at_its_bracket_path() -> None:
    """A query item with `_var` puts the value at its path under that flat name, beside the whole query."""
    query = parse_query("query[0][a]=1&query[0][b]=2&other=x")
    config = {
        "request": {
            "query": [
                {"key": "query[0].a", "alias": "A", "_var": "query_$0"},
                {"key": "query[0]", "_var": "query_$1"},
                {"key": "nowhere.deep", "_var": "query_$2"},
            ]
        }
    }
    context_query = build_context([], query, None, config)["query"]
    assert context_query == {
        "query": [{"a": "1", "b": "2"}],
        "other": "x",
        "query_$0": "1",
        "query_$1": {"a": "1", "b": "2"},
        "query_$2": None,
    }


def test_body_var_gets_the_value_at_its_dotted_path() -> None:
    """A body item with `_var` adds its flat name, and unconfigured fields are kept."""
    body = {"a": 1, "b": {"c": 2}, "extra": [1, 2]}
    config = {"request": {"body": [{"key": "b.c", "alias": "C", "_var": "body_$1"}, {"key": "a"}]}}
    context_body = build_context([], {}, body, config)["body"]
    assert context_body == {"a": 1, "b": {"c": 2}, "extra": [1, 2], "body_$1": 2}


def test_items_without_var_leave_query_and_body_whole() -> None:
    """Items without `_var` add nothing; query and body are kept as parsed."""
    config = {"request": {"query": [{"key": "a"}], "body": [{"key": "x.y", "alias": "Y"}]}}
    context = build_context([], {"a": "1", "z": None}, {"x": {"y": 1}, "w": 2}, config)
    assert context["query"] == {"a": "1", "z": None}
    assert context["body"] == {"x": {"y": 1}, "w": 2}


def test_non_object_bodies_are_kept_as_they_are() -> None:
    """A list, a scalar or a null body is kept, and `_var` items do not apply to it."""
    config = {"request": {"body": [{"key": "0", "_var": "body_$0"}]}}
    assert build_context([], {}, [1, 2], config)["body"] == [1, 2]
    assert build_context([], {}, "text", config)["body"] == "text"
    assert build_context([], {}, None, config)["body"] is None


def test_building_the_context_mutates_nothing() -> None:
    """The caller's query, body and config are left exactly as they were."""
    query: dict[str, Any] = {"query": [{"a": "1"}]}
    body: dict[str, Any] = {"b": {"c": 2}}
    config: dict[str, Any] = {
        "request": {
            "headers": [{"key": "X-A"}],
            "query": [{"key": "query[0].a", "_var": "query_$0"}],
            "body": [{"key": "b.c", "_var": "body_$0"}],
        }
    }
    before = copy.deepcopy((query, body, config))
    context = build_context([("X-A", "1")], query, body, config)
    assert (query, body, config) == before
    assert context["query"] is not query
    assert context["body"] is not body


def test_configured_items_skips_malformed_entries_and_missing_sections() -> None:
    """Only items with a string key survive, with their string alias and `_var`; missing parts give []."""
    config = {
        "request": {
            "query": [
                {"key": "a", "alias": "A", "_var": "query_$0", "other": 1},
                {"key": ""},
                {"alias": "no key"},
                "not an item",
                {"key": "b", "alias": None, "_var": 3},
            ],
            "body": "not a list",
        }
    }
    assert configured_items(config, "query") == [{"key": "a", "alias": "A", "_var": "query_$0"}, {"key": "b"}]
    assert configured_items(config, "body") == []
    assert configured_items(config, "headers") == []
    assert configured_items({}, "query") == []
    assert configured_items({"request": None}, "query") == []


@pytest.mark.parametrize(
    "name", ["X-Api-Key", "X-Hub-Signature-256", "Stripe-Signature", "X-Slack-Signature", "webhook-signature"]
)
def test_api_keys_and_sender_signatures_are_redacted(name: str) -> None:
    """API keys and the signature headers of the common senders are credentials too: redacted."""
    headers = build_context([(name, "t=1,v1=secret-ish")], {}, None, {})["headers"]
    assert headers == {name.lower(): REDACTED}


def test_header_items_marked_secret_are_redacted() -> None:
    """A configured header item with `"secret": true` is redacted, whatever the case of its name."""
    config = {"request": {"headers": [{"key": "X-Shop-Token", "secret": True}, {"key": "X-Plain"}]}}
    headers = build_context([("x-shop-token", "tok"), ("x-plain", "p")], {}, None, config)["headers"]
    assert headers == {"x-shop-token": REDACTED, "x-plain": "p"}


def test_many_repeated_headers_are_folded_in_order() -> None:
    """Sixty thousand repeats of one header fold into one comma-separated value, in arrival order.

    (They used to be joined one at a time, which cost the square of their number: 6 s here.)
    """
    values = [f"v{index}" for index in range(60_000)]
    headers = build_context([("X-A", value) for value in values], {}, None, {})["headers"]
    assert headers == {"x-a": ", ".join(values)}


# -- the raw body (`config.request.rawBody`) ---------------------------------------------------

RAW_BODY = {"request": {"rawBody": True}}


def _raw_context(content_type: str | None, raw: bytes, config: dict[str, Any] = RAW_BODY) -> dict[str, Any]:
    """The context of a request with this Content-Type and raw body (its parsed body left null)."""
    headers = [] if content_type is None else [("Content-Type", content_type)]
    return build_context(headers, {}, None, config, raw=raw)


def test_the_raw_body_is_left_out_by_default() -> None:
    """Without `rawBody: true` the context holds no raw body, even when the bytes are given."""
    assert set(_raw_context("text/plain", b"hi", {})) == {"headers", "query", "body"}
    assert "rawBody" not in _raw_context("text/plain", b"hi", {"request": {"rawBody": False}})


@pytest.mark.parametrize(
    ("content_type", "raw", "text"),
    [
        ("application/json", b'{"a": "\xc3\xa9"}', '{"a": "é"}'),
        (None, b"order=5", "order=5"),
        ("text/plain; charset=iso-8859-1", b"caf\xe9", "café"),
        ("application/octet-stream", b"", ""),
    ],
)
def test_a_raw_body_that_is_text_is_kept_as_text(content_type: str | None, raw: bytes, text: str) -> None:
    """A body that decodes in its charset (UTF-8 when none is named) is kept as its text."""
    context = _raw_context(content_type, raw)
    assert (context["rawBody"], context["rawBodyEncoding"]) == (text, "text")


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/octet-stream", bytes(range(256))),
        ("text/plain", b"caf\xe9"),
        ("application/octet-stream", b"a\x00b"),
        ("text/plain; charset=nope", b"abc"),
        ("text/plain; charset=utf-7", b"a+2AA-"),
    ],
    ids=["binary", "not-utf-8", "nul", "unknown-charset", "not-a-charset"],
)
def test_a_raw_body_that_is_not_storable_text_is_kept_as_base64(content_type: str, raw: bytes) -> None:
    """Bytes that are not text in a charset hookline reads, or text holding NUL, are kept as base64."""
    context = _raw_context(content_type, raw)
    assert context["rawBodyEncoding"] == "base64"
    assert base64.b64decode(context["rawBody"]) == raw


def test_raw_body_must_be_true_or_false() -> None:
    """`config.request.rawBody` is checked with the trigger config: a boolean, nothing else."""
    assert check_trigger_config({"request": {"rawBody": True}}, sync=False) == []
    assert check_trigger_config({"request": {"rawBody": False, "body": []}}, sync=True) == []
    for wrong in ("yes", 1, None):
        problems = check_trigger_config({"request": {"rawBody": wrong}}, sync=False)
        assert [(problem.where, problem.message) for problem in problems] == [
            ("config.request.rawBody", "must be true or false")
        ]
