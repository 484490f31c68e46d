"""What a request may hold so that its execution can be stored as it came: depth, NUL, integer range.

An execution's context is JSON in the database. Three things parse but cannot be stored
faithfully, and each would otherwise fail only at the commit (a `500`, and on PostgreSQL a
rolled-back group commit): nesting deeper than the serialiser's 254 levels, the NUL character
(PostgreSQL's `jsonb` refuses it), and integers beyond 64 bits (the parser turns them into
floats, silently losing digits). The request is refused with a `400` before anything runs.
"""

from __future__ import annotations

import re

import orjson

from hookline.errors import RejectedRequest
from hookline.types import JsonValue

SERIALISER_DEPTH = 254
"""The deepest nesting of arrays and objects the storage serialiser (orjson) writes."""

INT_RANGE = (-(2**63), 2**64 - 1)
"""The integers JSON bodies may hold: those the parser keeps exact and storage writes back."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_LONG_DIGITS = re.compile(rb"\d{19}")
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def check_json_body(raw: bytes, value: JsonValue, depth_limit: int) -> None:
    """Refuse a parsed JSON body (its bytes `raw`) that is too deep, holds NUL, or a too-large integer."""
    # Each check first asks a question that C code answers at once, so ordinary bodies pay little.
    if raw.count(b"[") + raw.count(b"{") > depth_limit:
        check_depth(value, depth_limit)
    if b"\\u0000" in raw and _NUL_ESCAPE.search(raw) is not None:
        raise nul_refused("body")
    if _LONG_DIGITS.search(raw) is not None:
        _check_integers(raw)


def check_depth(value: JsonValue, depth_limit: int) -> None:
    """Refuse a value nested deeper than `depth_limit` arrays and objects (`400 json_too_deep`).

    The serialiser that stores executions is the judge: wrapped in `254 - depth_limit` lists,
    the value serialises exactly when its own depth is within the limit. This costs one
    serialisation in C instead of a walk over every element in Python.
    """
    wrapped: JsonValue = value
    for _ in range(SERIALISER_DEPTH - depth_limit):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        raise json_too_deep(depth_limit) from None


def json_too_deep(depth_limit: int) -> RejectedRequest:
    """The `400` of a JSON document nested deeper than the limit."""
    return RejectedRequest(
        400, "json_too_deep", f"The JSON body nests arrays and objects deeper than {depth_limit} levels."
    )


def nul_refused(part: str) -> RejectedRequest:
    """The `400` of a request whose `part` (body or query) holds the NUL character."""
    return RejectedRequest(
        400,
        "nul_character",
        f"The request {part} holds a NUL character (U+0000), which hookline cannot store.",
    )


def _check_integers(raw: bytes) -> None:
    """Refuse an integer literal outside `INT_RANGE` (strings are left out: their digits are text)."""
    low, high = INT_RANGE
    for match in _NUMBER.finditer(_STRING.sub(b'""', raw)):
        literal = match.group()
        if b"." in literal or b"e" in literal or b"E" in literal:
            continue
        # 20 digits hold every integer in range; longer ones are out of it without converting them.
        if len(literal.lstrip(b"-")) > 20 or not low <= int(literal) <= high:
            raise number_out_of_range(f"the integer {literal[:40].decode()}, beyond 64 bits")


def number_out_of_range(what: str) -> RejectedRequest:
    """The `400` of a JSON number hookline cannot keep exact; `what` says which."""
    return RejectedRequest(
        400, "number_out_of_range", f"The JSON body holds {what}; send such numbers as strings."
    )
