"""Where `options.dedupe` finds a request's idempotency key, and what that key is."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.trigger.dedupe import DEFAULT_WINDOW, DedupeSource, RequestKey, parse_source
from hookline.trigger.options import check_options, parse_options

CONTEXT: dict[str, Any] = {
    "headers": {"idempotency-key": "abc-1", "authorization": "[redacted]", "x-empty": ""},
    "query": {"id": ["7", "8"]},
    "body": {"order": {"id": 42, "lines": [{"sku": "a"}, {"sku": "b"}]}, "meta": {"b": 1, "a": 2}},
}


def source(text: str, **extra: Any) -> DedupeSource:
    """The setting of options naming this source."""
    found = parse_options({"dedupe": {"source": text, **extra}}).dedupe
    assert found is not None
    return found


def value_of(text: str) -> str | None:
    """The idempotency value a source finds in CONTEXT."""
    found = source(text).key("wf", CONTEXT)
    return None if found is None else found.value


def test_workflows_without_the_option_have_no_source() -> None:
    """No option, a null option or an invalid one give no setting (the request runs as always)."""
    assert parse_options({}).dedupe is None
    assert parse_options({"dedupe": None}).dedupe is None
    assert parse_options({"dedupe": {"source": "header:Idempotency-Key"}}).dedupe is None
    assert parse_options({"dedupe": {"source": "body.id", "window": 0}}).dedupe is None
    assert parse_options({"dedupe": {"source": "body.id", "window": True}}).dedupe is None
    assert parse_options({"dedupe": {"source": "body.id", "window": 1}}).dedupe == DedupeSource(
        "body", ("id",), 1
    )


def test_the_window_defaults_to_a_day() -> None:
    """Without a window the key holds for 24 hours; a given window is kept."""
    assert source("body.id").window == DEFAULT_WINDOW == 86_400
    assert source("body.id", window=60).window == 60


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("headers.idempotency-key", "abc-1"),
        ("headers.Idempotency-Key", "abc-1"),
        ("body.order.id", "42"),
        ("body.order.lines[1].sku", "b"),
        ("body.order.lines.sku", '["a","b"]'),
        ("body.meta", '{"a":2,"b":1}'),
        ("query.id[0]", "7"),
    ],
)
def test_a_source_finds_its_value_as_text(text: str, value: str) -> None:
    """Header names match in any case; numbers and JSON values become compact JSON text (keys sorted)."""
    assert value_of(text) == value


@pytest.mark.parametrize(
    "text", ["headers.x-request-id", "headers.x-empty", "body.order.missing", "query.nope"]
)
def test_a_missing_or_empty_value_is_no_key(text: str) -> None:
    """A request whose source holds nothing (or an empty string) has no key: it is never deduplicated."""
    assert value_of(text) is None


def test_a_redacted_header_is_no_key() -> None:
    """A header the context redacts is no key, or every request would be a duplicate of the first."""
    setting = DedupeSource("headers", ("x-signature",), 60)
    assert setting.key("wf", {"headers": {"x-signature": "[redacted]"}}) is None


@pytest.mark.parametrize(
    "text", ["", "idempotency-key", "header.idempotency-key", "headers.", "context.body.id", "body.a..b"]
)
def test_bad_sources_say_what_is_expected(text: str) -> None:
    """A source must name headers, query or body and something inside it."""
    with pytest.raises(ValueError, match=r"headers\.|path|non-empty"):
        parse_source(text)


def test_credential_headers_are_refused_as_sources() -> None:
    """The Authorization header is never stored, so it cannot be a source."""
    problems = check_options({"dedupe": {"source": "headers.Authorization"}})
    assert [p.where for p in problems] == ["options.dedupe.source"]
    assert "credential" in problems[0].message


def test_the_stored_digest_depends_on_the_workflow_and_the_value() -> None:
    """The same value in two workflows gives two keys; the digest is a fixed-size hex string."""
    first, second = RequestKey("wf-a", "1", 60), RequestKey("wf-b", "1", 60)
    assert first.digest != second.digest
    assert first.digest == RequestKey("wf-a", "1", 3600).digest
    assert len(first.digest) == 64


def test_event_keys_name_the_value_and_stay_unique() -> None:
    """The event key holds the workflow key, the value and the execution id; odd or long values are hashed."""
    assert RequestKey("wf", "abc-1", 60).event_key(7) == "wf:abc-1:7"
    hashed = RequestKey("wf", "x" * 500, 60).event_key(7)
    assert hashed.startswith("wf:sha256:")
    assert hashed.endswith(":7")
    assert len(hashed) < 60
    assert "\x00" not in RequestKey("wf", "a\x00b", 60).event_key(7)
