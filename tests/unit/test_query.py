"""Tests for the qs-compatible query-string parser.

The expectations are JavaScript `qs` 6.17's (`qs.parse(raw, {strictNullHandling: true, arrayLimit:
100, depth: 5})`, as NocoBase calls it), checked with Node. qs_codec, the Python port, is the
oracle of the differential test; where it differs from JavaScript qs, the cases are in
`QS_CODEC_DIFFERS` with what it gives instead.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qs_codec import DecodeOptions, decode

from hookline.errors import RejectedRequest
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
    ("a[99]=x&a[100]=y&a[101]=z", {"a": {"99": "x", "100": "y", "101": "z"}}),
    ("a[1]=x&a[0]=y", {"a": ["y", "x"]}),
    ("a[=]=x", {"a": {"=": "x"}}),
    ("a[b]c[d]=1", {"a": {"b": {"d": "1"}}}),
    ("a[[b]]=1", {"a": {"[b]": "1"}}),
    ("a[b=1", {"a": {"[b": "1"}}),
    ("a[b]=1&a=2&a[c]=3", {"a": {"0": {"b": "1"}, "1": "2", "c": "3"}}),
    ("a=1&a[b]=2&a[c]=3", {"a": {"0": "1", "1": {"b": "2"}, "c": "3"}}),
    ("a=&a[b]=x", {"a": ["", {"b": "x"}]}),
    ("a[]=x&a[b]=y&a[]=z", {"a": {"0": "x", "1": "z", "b": "y"}}),
    ("a[][5]=x", {"a": ["x"]}),
    ("a[0]=x&a[0][99]=y", {"a": ["x", ["y"]]}),
    ("a=%00", {"a": "\x00"}),
]


# Where qs_codec 1.6 gives something else than JavaScript qs (its answer in the comment); hookline
# follows JavaScript, which is what NocoBase runs.
QS_CODEC_DIFFERS: list[tuple[str, dict[str, Any]]] = [
    # qs drops keys that name Object.prototype properties (its `allowPrototypes: false`);
    # qs_codec keeps them: {"toString": "1", "a": {"constructor": "2", "b": "3"}}.
    ("toString=1&a[constructor]=2&a[b]=3", {"a": {"b": "3"}}),
    ("__proto__[x]=1&a[__proto__]=2&b=3", {"b": "3"}),
    # Lists at the same index merge like objects do; qs_codec appends them: {"a": [["x"], ["y"]]}.
    ("a[0][0]=x&a[0][1]=y", {"a": [["x", "y"]]}),
    ("a[0][b]=1&a[0][1]=2", {"a": [{"1": "2", "b": "1"}]}),
    ("a[1][b]=1&a[1]=2&a[1]=3", {"a": [{"0": "2", "1": "3", "b": "1"}]}),
    # An index past the limit makes an object that stays marked as an overflowed list: merged
    # after a value it shifts up by one, and `[]` keeps it; qs_codec loses the mark:
    # {"a": ["x", {"100": "y"}]}, {"b": [{"100": "x"}]}, {"b": [[["x"]], {"105": "y"}]}.
    ("a=x&a[100]=y", {"a": {"0": "x", "101": "y"}}),
    ("b[][100]=x", {"b": {"100": "x"}}),
    ("b[98][2][]=x&b[98][105]=y", {"b": [{"2": ["x"], "105": "y"}]}),
    # An empty value merged into a list adds nothing; qs_codec adds it: ["", "y", ""].
    ("a[b]=x&a[c][]=&a[c][]=y&a[c]=", {"a": {"b": "x", "c": ["", "y"]}}),
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    QS_CASES + QS_CODEC_DIFFERS,
    ids=[raw or "<empty>" for raw, _ in QS_CASES + QS_CODEC_DIFFERS],
)
def test_query_parses_like_javascript_qs(raw: str, expected: dict[str, Any]) -> None:
    """Each query string parses to what `qs.parse` with NocoBase's options gives."""
    assert parse_query(raw) == expected


def test_keys_come_in_javascript_order() -> None:
    """Keys are listed as JavaScript lists an object's: array indices ascending first, then the rest."""
    parsed = parse_query("b=1&0=2&a[x]=3&a[101]=4&a[5]=5")
    assert list(parsed) == ["0", "b", "a"]
    assert list(parsed["a"]) == ["5", "101", "x"]


def test_repeated_key_beyond_the_list_limit_becomes_a_numbered_object() -> None:
    """More repeats of one key than the list limit give an object keyed by position, as qs does."""
    within = parse_query("&".join(f"a={n}" for n in range(LIST_LIMIT)))
    beyond = parse_query("&".join(f"a={n}" for n in range(LIST_LIMIT + 1)))
    assert within["a"] == [str(n) for n in range(LIST_LIMIT)]
    assert beyond["a"] == {str(n): str(n) for n in range(LIST_LIMIT + 1)}


def test_more_pairs_than_the_parameter_limit_are_refused() -> None:
    """A query with more pairs than the limit is refused with 414, flat or nested, not cut short."""
    for pair in ("k{n}=v", "k{n}[x]=v"):
        with pytest.raises(RejectedRequest) as refused:
            parse_query("&".join(pair.format(n=n) for n in range(PARAMETER_LIMIT + 1)))
        assert (refused.value.status, refused.value.code) == (414, "too_many_query_parameters")
        assert refused.value.message == f"The query string has more than {PARAMETER_LIMIT} parameters."


def test_pairs_are_counted_as_qs_splits_them() -> None:
    """Pairs are counted on `&` with empty parts skipped, up to a limit the caller may set."""
    assert parse_query("?a=1&&b&", parameter_limit=2) == {"a": "1", "b": None}
    assert len(parse_query("&".join(f"k{n}" for n in range(PARAMETER_LIMIT)))) == PARAMETER_LIMIT
    with pytest.raises(RejectedRequest):
        parse_query("a=1&b=2&c=3", parameter_limit=2)


def test_a_thousand_repeats_of_a_nested_list_key_give_a_numbered_object() -> None:
    """1,000 `a[b][]=v` pairs give the 1,000 values, as an object by position past the list limit."""
    parsed = parse_query("&".join(f"a[b][]={n}" for n in range(1000)))
    assert parsed == {"a": {"b": {str(n): str(n) for n in range(1000)}}}


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


# Shapes of query that made qs_codec quadratic (or could make a parser so), by number of pairs.
_COST_SHAPES: dict[str, Callable[[int], str]] = {
    "a=v": lambda n: "&".join("a=v" for _ in range(n)),
    "a[]=v": lambda n: "&".join("a[]=v" for _ in range(n)),
    "a[b]=v": lambda n: "&".join("a[b]=v" for _ in range(n)),
    "a[b][]=v": lambda n: "&".join("a[b][]=v" for _ in range(n)),
    "k{i}[x]=v": lambda n: "&".join(f"k{i}[x]=v" for i in range(n)),
    "a[b]{i}=v": lambda n: "&".join(f"a[b]{i}=v" for i in range(n)),
    "a[{i}]=v": lambda n: "&".join(f"a[{i}]=v" for i in range(n)),
    "a[{i%100}][{i}]=v": lambda n: "&".join(f"a[{i % 100}][{i}]=v" for i in range(n)),
    "a[{i}][b]=v&a[{i}]=v": lambda n: "&".join(
        f"a[{i // 2}][b]=v" if i % 2 else f"a[{i // 2}]=v" for i in range(n)
    ),
    "a[b]=v&a=v&a[c{i}]=v": lambda n: "&".join(("a[b]=v", "a=v", f"a[c{i}]=v")[i % 3] for i in range(n)),
}


def _calls(raw: str) -> int:
    """The Python and builtin function calls made to parse `raw`: a measure of the work, not of time."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        parse_query(raw, parameter_limit=sys.maxsize)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("shape", list(_COST_SHAPES))
def test_parsing_work_grows_linearly_with_the_pairs(shape: str) -> None:
    """Four times the pairs take about four times the calls (a quadratic parser takes 16 times)."""
    # Both sizes repeat keys past the list limit, so that they take the same paths through qs's rules.
    make = _COST_SHAPES[shape]
    assert _calls(make(2000)) <= 5 * _calls(make(500))


_LOW_INDICES = [0, 1, 2, 5, 98, 99]
_HIGH_INDICES = [100, 101, 105]
_VALUES = ["", "x", "y+z", "%41", "%E2%9C%93", "%zz", "=", "%5B"]


@st.composite
def _suffixes(draw: st.DrawFn, depth: int = 0, under_index: bool = False) -> list[str]:
    """The key suffixes (`[b][]`, `[5]`, …) of a consistent subtree, within qs_codec's correct cases.

    Each path is a leaf, a list (`[]`, last), an object by names or a list by indices, never two
    of them: qs_codec mishandles mixes (`QS_CODEC_DIFFERS`). Under an index there are only leaves,
    lists and objects (it appends lists at the same index); one node's indices are all below the
    list limit or all past it (it loses the overflow mark where they meet).
    """
    kinds = ["leaf", "push"]
    if depth < 3:
        kinds += ["names"] if under_index else ["names", "indices"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("leaf", "push"):
        return [""] if kind == "leaf" else ["[]"]
    pool = ["b", "c", "d"] if kind == "names" else draw(st.sampled_from([_LOW_INDICES, _HIGH_INDICES]))
    labels = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    return [
        f"[{label}]{rest}"
        for label in labels
        for rest in draw(_suffixes(depth + 1, under_index=kind == "indices"))
    ]


@st.composite
def _consistent_queries(draw: st.DrawFn) -> str:
    """A query over a consistent tree of keys: repeated pairs, values with and without `=`, in any order."""
    roots = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    keys = [root + suffix for root in roots for suffix in draw(_suffixes())]
    pick = st.tuples(
        st.sampled_from(keys),
        st.sampled_from([None, *_VALUES]),
        st.sampled_from([*[1] * 12, 2, 3, LIST_LIMIT + 1]),
        st.booleans(),
    )
    parts = []
    for key, value, repeats, encoded in draw(st.lists(pick, min_size=1, max_size=6)):
        if encoded:
            key = key.replace("[", "%5B").replace("]", "%5d")
        parts += [key if value is None else f"{key}={value}"] * repeats
    # One drawn seed shuffles them: a draw per part would make generating the examples slow.
    random.Random(draw(st.integers(0, 2**32 - 1))).shuffle(parts)
    return "&".join(parts)


def _plain(value: Any) -> Any:
    """qs_codec's containers (it marks list overflows with a dict subclass) as plain JSON ones."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@settings(max_examples=300, deadline=None)
@given(_consistent_queries())
def test_parser_equals_qs_codec_on_consistent_keys(raw: str) -> None:
    """Nested keys, indices around the limit, `[]`, repeats and escapes parse as qs_codec parses them."""
    assert parse_query(raw) == _plain(decode(raw, _QS_OPTIONS))
