"""Tests for the JSON bodies hookline refuses because it could not store them as they came."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.errors import RejectedRequest
from hookline.trigger.body import parse_json
from hookline.trigger.storable import SERIALISER_DEPTH


def nested(depth: int) -> bytes:
    """A JSON document of `depth` arrays and objects nested in turn, holding a number."""
    text = "1"
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"a": {text}}}'
    return text.encode()


def refusal(raw: bytes, depth_limit: int = 64) -> RejectedRequest:
    """The error parse_json raises for `raw`."""
    with pytest.raises(RejectedRequest) as refused:
        parse_json(raw, depth_limit)
    return refused.value


@pytest.mark.parametrize("depth", [1, 2, 63, 64])
def test_a_body_within_the_depth_limit_parses(depth: int) -> None:
    """A body nested as deep as the limit, and no deeper, parses."""
    assert parse_json(nested(depth), 64) == orjson.loads(nested(depth))


@pytest.mark.parametrize("depth", [65, 100, 253, 254, 300, 1024, 1025, 5000])
def test_a_body_deeper_than_the_limit_is_a_400(depth: int) -> None:
    """Deeper than the limit is `400 json_too_deep`, also past the parser's own 1,024 levels."""
    error = refusal(nested(depth))
    assert (error.status, error.code) == (400, "json_too_deep")
    assert "64 levels" in error.message


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    """Brackets within string values are text: they neither nest nor trip the limit."""
    raw = orjson.dumps({"text": "[" * 500 + "{" * 500, "list": [[1]]})
    assert parse_json(raw, 3) == orjson.loads(raw)


def test_a_wide_shallow_body_is_within_the_limit() -> None:
    """Many siblings are not depth: a list of ten thousand small objects passes a limit of 3."""
    raw = orjson.dumps([{"a": [i]} for i in range(10_000)])
    assert len(parse_json(raw, 3)) == 10_000  # type: ignore[arg-type]


@given(st.recursive(st.integers(-1000, 1000), lambda inner: st.lists(inner, max_size=3), max_leaves=30))
def test_the_depth_limit_is_exactly_the_nesting_depth(value: object) -> None:
    """A value passes a limit exactly when its nesting depth is within it."""
    raw = orjson.dumps(value)
    depth = _depth(value)
    if depth:
        with pytest.raises(RejectedRequest):
            parse_json(raw, depth - 1)
    assert parse_json(raw, max(depth, 1)) == value


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def test_the_depth_check_leaves_room_for_storage() -> None:
    """The check wraps with the serialiser's own limit, so 254 levels is the most any limit allows."""
    assert SERIALISER_DEPTH == 254
    with pytest.raises(RejectedRequest):
        parse_json(nested(201), 200)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"note": "a\\u0000b"}',
        b'{"a\\u0000": 1}',
        b'["\\\\\\u0000"]',  # an escaped backslash, then an escaped NUL
    ],
)
def test_a_nul_character_is_a_400(raw: bytes) -> None:
    """A NUL character in a value or key is `400 nul_character` (PostgreSQL's jsonb cannot hold it)."""
    error = refusal(raw)
    assert (error.status, error.code) == (400, "nul_character")


def test_an_escaped_backslash_before_u0000_is_text() -> None:
    """`\\\\u0000` is a backslash followed by the text `u0000`, not a NUL: it is accepted."""
    assert parse_json(b'["\\\\u0000"]') == ["\\u0000"]


@pytest.mark.parametrize(
    "literal", ["18446744073709551616", "-9223372036854775809", "1" * 25, "9" * 5000, "-" + "9" * 30]
)
def test_an_integer_beyond_64_bits_is_a_400(literal: str) -> None:
    """Integers the parser would turn into floats are `400 number_out_of_range`, not silently rounded."""
    error = refusal(f'{{"n": {literal}}}'.encode())
    assert (error.status, error.code) == (400, "number_out_of_range")
    assert "as strings" in error.message


@pytest.mark.parametrize(
    "literal", ["18446744073709551615", "-9223372036854775808", "9223372036854775807", "0"]
)
def test_integers_within_64_bits_stay_exact(literal: str) -> None:
    """The whole signed and unsigned 64-bit range parses exactly."""
    assert parse_json(f"[{literal}]".encode()) == [int(literal)]


@pytest.mark.parametrize(
    "raw", [b'{"id": "18446744073709551616123"}', b"[1.000000000000000000001]", b"[12345678901234567890e5]"]
)
def test_long_digit_runs_in_strings_and_floats_are_accepted(raw: bytes) -> None:
    """Long digit runs inside strings, fractions or exponent forms are not integers: they pass."""
    assert parse_json(raw) == orjson.loads(raw)
