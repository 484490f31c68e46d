"""Tests for the qs-compatible query-string parser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qs_codec import DecodeOptions, decode

from hookline.trigger.query import LIST_LIMIT, PARAMETER_LIMIT, parse_query

QS_CASES: list[tuple[str, dict[str, Any]]] = [
    ("a[0][b]=1&a[1]=x", {"a": [{"b": "1"}, "x"]}),
    ("a", {"a": None}),
    ("?a", {"a": None}),
    ("a=", {"a": ""}),
    ("a=1&a=2", {"a": ["1", "2"]}),
    ("a&a=1", {"a": [None, "1"]}),
    ("a.b=1", {"a.b": "1"}),
    ("a[]=1&a[]=2", {"a": ["1", "2"]}),
    ("a[]=1&a[]=2&b=3", {"a": ["1", "2"], "b": "3"}),
    ("a[b][c]=d", {"a": {"b": {"c": "d"}}}),
    ("a[b][c]=d&a[b][e]=f", {"a": {"b": {"c": "d", "e": "f"}}}),
    ("a[1]=b&a[3]=c", {"a": ["b", "c"]}),
    ("a[99]=x", {"a": ["x"]}),
    ("a[100]=x", {"a": {"100": "x"}}),
    ("a[101]=x", {"a": {"101": "x"}}),
    ("a%5Bb%5D=c&d=%E2%9C%93+ok", {"a": {"b": "c"}, "d": "✓ ok"}),
    ("a%5bb%5d=c", {"a": {"b": "c"}}),
    ("a[b]=1&a=2", {"a": [{"b": "1"}, "2"]}),
    ("a[b]&a[c]=", {"a": {"b": None, "c": ""}}),
    ("a=b=c", {"a": "b=c"}),
    ("a=%zz&b=100%", {"a": "%zz", "b": "100%"}),
    ("name=J%C3%B6rg+M%C3%BCller", {"name": "Jörg Müller"}),
    ("=x&&b=", {"b": ""}),
    ("a[b][c][d][e][f][g][h]=i", {"a": {"b": {"c": {"d": {"e": {"f": {"[g][h]": "i"}}}}}}}),
    (
        "order[items][0][sku]=A-1&order[items][1][sku]=B-2&order[id]=7",
        {"order": {"items": [{"sku": "A-1"}, {"sku": "B-2"}], "id": "7"}},
    ),
    ("query[0][a]=1&query[0][b]=2", {"query": [{"a": "1", "b": "2"}]}),
    ("", {}),
]


@pytest.mark.parametrize(("raw", "expected"), QS_CASES, ids=[raw or "<empty>" for raw, _ in QS_CASES])
def test_query_parses_like_javascript_qs(raw: str, expected: dict[str, Any]) -> None:
    """Each query string parses to what `qs.parse` with NocoBase's options gives."""
    assert parse_query(raw) == expected


def test_repeated_key_beyond_the_list_limit_becomes_a_numbered_object() -> None:
    """More repeats of one key than the list limit give an object keyed by position, as qs does."""
    within = parse_query("&".join(f"a={n}" for n in range(LIST_LIMIT)))
    beyond = parse_query("&".join(f"a={n}" for n in range(LIST_LIMIT + 1)))
    assert within["a"] == [str(n) for n in range(LIST_LIMIT)]
    assert beyond["a"] == {str(n): str(n) for n in range(LIST_LIMIT + 1)}


def test_pairs_beyond_the_parameter_limit_are_ignored() -> None:
    """Only the first thousand pairs are read, flat or nested."""
    flat = parse_query("&".join(f"k{n}=v" for n in range(PARAMETER_LIMIT + 5)))
    nested = parse_query("&".join(f"k{n}[x]=v" for n in range(PARAMETER_LIMIT + 5)))
    assert len(flat) == PARAMETER_LIMIT
    assert len(nested) == PARAMETER_LIMIT
    assert f"k{PARAMETER_LIMIT}" not in flat


def test_list_overflow_gives_plain_dicts() -> None:
    """Overflowed lists come back as plain dicts, not qs_codec's marker subclass."""
    parsed = parse_query("a[200]=x&b[c][]=1")
    assert type(parsed["a"]) is dict
    assert type(parsed["b"]["c"]) is list


_BRACKET_FREE_PIECES = st.sampled_from(
    [
        "a",
        "b",
        "k",
        ".",
        "=",
        "&",
        "+",
        "%",
        "%20",
        "%zz",
        "%E2%9C%93",
        "%E2%9C",
        "%C3",
        "?",
        ";",
        "é",
        " ",
        "0",
    ]
)
_bracket_free = st.lists(_BRACKET_FREE_PIECES | st.characters(exclude_characters="[]"), max_size=40).map(
    "".join
)
_ENCODED_BRACKET = re.compile("%5[bd]", re.IGNORECASE)
_QS_OPTIONS = DecodeOptions(list_limit=100, depth=5, parameter_limit=1000, strict_null_handling=True)


@given(_bracket_free.filter(lambda raw: _ENCODED_BRACKET.search(raw) is None))
def test_fast_path_equals_qs_codec_for_bracket_free_queries(raw: str) -> None:
    """Without brackets, the fast parser gives exactly what qs_codec gives."""
    assert parse_query(raw) == decode(raw[1:] if raw.startswith("?") else raw, _QS_OPTIONS)


_WEIRD_PIECES = st.sampled_from(
    ["[", "]", "[]", "%5B", "%5d", "=", "&", "%", "+", ".", "[0]", "[101]", "a", ""]
)


@given(st.text() | st.lists(_WEIRD_PIECES | st.text(max_size=3), max_size=50).map("".join))
def test_any_string_parses_to_a_dict(raw: str) -> None:
    """No input makes the parser raise; every string gives some dict."""
    assert isinstance(parse_query(raw), dict)
