"""Tests for the "parse from sample" helpers: query and body paths, their notation and limits."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.errors import RejectedRequest
from hookline.expressions.templates import parse_path, resolve_path
from hookline.trigger import samples
from hookline.trigger.samples import (
    MAX_PATHS,
    MAX_SAMPLE_BYTES,
    body_paths,
    items_from_paths,
    parse_sample_body,
    parse_sample_query,
    query_paths,
)


def test_query_paths_are_depth_first_in_key_order() -> None:
    """Each branch comes before the paths below it, keys in the order they appear."""
    parsed, paths = parse_sample_query("a[0][b]=1&a[1]=x&c=2")
    assert parsed == {"a": [{"b": "1"}, "x"], "c": "2"}
    assert paths == ["a", "a[0]", "a[0].b", "a[1]", "c"]


@pytest.mark.parametrize(
    "sample",
    [
        "https://example.com/hook/abc?a[0][b]=1&a[1]=x&c=2",
        "/hook/abc?a[0][b]=1&a[1]=x&c=2#top",
        "?a[0][b]=1&a[1]=x&c=2",
        "  a[0][b]=1&a[1]=x&c=2\n",
    ],
)
def test_query_sample_may_be_a_url_a_path_or_the_query(sample: str) -> None:
    """A URL, a path with a query, or a query with or without `?` give the same result."""
    assert parse_sample_query(sample)[1] == ["a", "a[0]", "a[0].b", "a[1]", "c"]


@pytest.mark.parametrize("sample", ["https://example.com/hook", "/hook/abc", "", "?", "/hook#a=1"])
def test_query_sample_without_a_query_gives_nothing(sample: str) -> None:
    """A URL or a path without `?` has no query."""
    assert parse_sample_query(sample) == ({}, [])


def test_query_sample_keeps_qs_semantics() -> None:
    """Flags are null, repeated keys are lists, dotted keys stay literal and are quoted in paths."""
    parsed, paths = parse_sample_query("?flag&tag=a&tag=b&a.b=1&x[y]=")
    assert parsed == {"flag": None, "tag": ["a", "b"], "a.b": "1", "x": {"y": ""}}
    assert paths == ["flag", "tag", "tag[0]", "tag[1]", '["a.b"]', "x", "x.y"]


def test_query_lists_are_listed_whole() -> None:
    """Every item of a query list gets a path (qs caps lists at 100 items)."""
    _, paths = parse_sample_query("&".join(f"n={i}" for i in range(5)))
    assert paths == ["n", "n[0]", "n[1]", "n[2]", "n[3]", "n[4]"]


def test_query_paths_of_a_parsed_value() -> None:
    """query_paths walks an already parsed query the same way."""
    assert query_paths({"query": [{"a": "1"}]}) == ["query", "query[0]", "query[0].a"]


def test_body_paths_are_dotted() -> None:
    """Objects give dotted paths, each branch before its leaves."""
    assert body_paths({"a": 1, "b": {"c": 2}}) == ["a", "b", "b.c"]


def test_body_lists_show_their_first_item() -> None:
    """Only the first item of a body list gets paths by default; more on request."""
    sample = {"items": [{"id": 1}, {"id": 2, "extra": True}], "empty": []}
    assert body_paths(sample) == ["items", "items[0]", "items[0].id", "empty"]
    assert body_paths(sample, list_items=None) == [
        "items",
        "items[0]",
        "items[0].id",
        "items[1]",
        "items[1].id",
        "items[1].extra",
        "empty",
    ]
    assert body_paths(sample, list_items=0) == ["items", "empty"]


def test_body_paths_of_a_list_or_a_scalar() -> None:
    """A top-level list starts with `[0]`; a scalar has no paths."""
    assert body_paths([{"a": [[1]]}]) == ["[0]", "[0].a", "[0].a[0]", "[0].a[0][0]"]
    assert body_paths("text") == body_paths(None) == body_paths(3) == []


def test_odd_keys_are_quoted_for_parse_path() -> None:
    """Keys with dots, brackets, spaces, quotes or backslashes use bracket quoting; digit keys stay dotted."""
    sample = {"x.y": {"a b": 1, 'q"\\': 2, "0": 3, "01": 4}, "": 5, "[0]": 6}
    paths = body_paths(sample)
    assert paths == [
        '["x.y"]',
        '["x.y"]["a b"]',
        '["x.y"]["q\\"\\\\"]',
        '["x.y"].0',
        '["x.y"].01',
        '[""]',
        '["[0]"]',
    ]
    assert [resolve_path(sample, p) for p in paths[1:]] == [1, 2, 3, 4, 5, 6]


def test_deep_nesting_needs_no_recursion() -> None:
    """A value nested deeper than Python's recursion limit is walked without a RecursionError."""
    deep: Any = 1
    for _ in range(3000):
        deep = {"a": deep}
    paths = body_paths(deep)
    assert len(paths) == 3000
    assert paths[-1] == ".".join(["a"] * 3000)


def test_parse_sample_body_reads_json() -> None:
    """A JSON text sample is parsed, then its paths listed."""
    assert parse_sample_body(b'{"a": {"b": [1]}}') == ({"a": {"b": [1]}}, ["a", "a.b", "a.b[0]"])


def test_parse_sample_body_refuses_invalid_json() -> None:
    """Text that is not JSON is a 422 naming the problem."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_body("{nope")
    assert (error.value.status, error.value.code) == (422, "invalid_sample")
    assert "not valid JSON" in error.value.message


@pytest.mark.parametrize(
    "sample",
    [
        "a=" + "x" * MAX_SAMPLE_BYTES,
        "a=" + "é" * (MAX_SAMPLE_BYTES // 2),  # fewer characters than the limit, more bytes
    ],
)
def test_a_large_query_sample_is_refused(sample: str) -> None:
    """A sample over 1 MiB of UTF-8 is a 413 before it is parsed."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_query(sample)
    assert (error.value.status, error.value.code) == (413, "sample_too_large")


def test_a_large_body_sample_is_refused() -> None:
    """Raw JSON bytes over 1 MiB are a 413 before they are parsed."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_body(orjson.dumps(["x" * MAX_SAMPLE_BYTES]))
    assert error.value.status == 413


def test_a_sample_at_the_size_limit_is_parsed() -> None:
    """Exactly 1 MiB is still accepted."""
    sample = "a=" + "x" * (MAX_SAMPLE_BYTES - 2)
    assert parse_sample_query(sample)[1] == ["a"]


def test_too_many_paths_are_refused() -> None:
    """More than 10,000 paths is a 422; exactly 10,000 is fine."""
    assert len(body_paths({str(i): i for i in range(MAX_PATHS)})) == MAX_PATHS
    with pytest.raises(RejectedRequest) as error:
        body_paths({str(i): i for i in range(MAX_PATHS + 1)})
    assert (error.value.status, error.value.code) == (422, "sample_too_complex")


def test_a_query_sample_with_too_many_pairs_is_too_complex() -> None:
    """A sample query of more than 1,000 pairs is refused as `422 sample_too_complex`, not as a long URL."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_query("&".join(f"a{index}=1" for index in range(1001)))
    assert (error.value.status, error.value.code) == (422, "sample_too_complex")


def test_the_path_limit_stops_the_walk_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit is checked as paths are found, so a lower limit fails on a small sample."""
    monkeypatch.setattr(samples, "MAX_PATHS", 2)
    with pytest.raises(RejectedRequest):
        query_paths({"a": {"b": {"c": 1}}})


def test_items_from_paths_have_empty_aliases() -> None:
    """Each path becomes a `config.request.*` item, in order."""
    assert items_from_paths(["a", "b.c"]) == [{"key": "a", "alias": ""}, {"key": "b.c", "alias": ""}]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


def _reference(value: Any, segments: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every (segments, value) below `value`, depth-first, written independently of the module."""
    found: list[tuple[tuple[str | int, ...], Any]] = []
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for step, item in items:
        found.append(((*segments, step), item))
        found += _reference(item, (*segments, step))
    return found


def _same_segment(parsed: str | int, expected: str | int) -> bool:
    """A digit key reads back as an index, which a mapping looks up as the same string."""
    return parsed == expected or (isinstance(expected, str) and str(parsed) == expected)


@given(_json)
def test_every_body_path_resolves_to_its_value(sample: Any) -> None:
    """Each path parses to the steps that lead to its value, and resolves to that value."""
    paths = body_paths(sample, list_items=None)
    expected = _reference(sample)
    assert len(paths) == len(expected)
    for path, (segments, value) in zip(paths, expected, strict=True):
        parsed = parse_path(path)
        assert len(parsed) == len(segments)
        assert all(_same_segment(p, e) for p, e in zip(parsed, segments, strict=True))
        assert resolve_path(sample, path) == value


@given(_json)
def test_first_item_paths_are_a_subset_of_all_paths(sample: Any) -> None:
    """Showing fewer list items only leaves paths out, in the same order."""
    every = body_paths(sample, list_items=None)
    first = body_paths(sample)
    positions = [every.index(path) for path in first]
    assert positions == sorted(positions)
