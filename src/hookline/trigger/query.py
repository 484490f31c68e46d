"""Query strings parsed with the semantics of JavaScript `qs`, as NocoBase parses them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from qs_codec import DecodeOptions, decode

LIST_LIMIT = 100
"""Indices from this number up become object keys, and longer lists become objects (qs `arrayLimit`)."""

DEPTH = 5
"""Bracket segments deeper than this stay one literal key (qs `depth`)."""

PARAMETER_LIMIT = 1000
"""Pairs after this many are ignored (qs `parameterLimit`)."""

_QS_OPTIONS = DecodeOptions(
    list_limit=LIST_LIMIT,
    depth=DEPTH,
    parameter_limit=PARAMETER_LIMIT,
    strict_null_handling=True,
    allow_dots=False,
)

# Only brackets (literal or percent-encoded) make qs build nested values; without them every key is flat.
_NESTING_SYNTAX = re.compile(r"[\[\]]|%5[bd]", re.IGNORECASE)


def parse_query(raw: str) -> dict[str, Any]:
    """Parse a query like `qs.parse(raw, {strictNullHandling: true, arrayLimit: 100})`; never raises."""
    query = raw[1:] if raw.startswith("?") else raw
    if _NESTING_SYNTAX.search(query) is None:
        return _parse_flat(query)
    return _parse_nested(query)


def _parse_flat(query: str) -> dict[str, Any]:
    """Parse a bracket-free query the way qs does, about twenty times faster than the full parser."""
    # parse_qsl cannot tell `a` from `a=`, which strict null handling needs, so this splits the way it does.
    result: dict[str, Any] = {}
    for part in query.split("&")[:PARAMETER_LIMIT]:
        raw_key, equals, raw_value = part.partition("=")
        key = _decode_component(raw_key)
        if not key:
            continue
        value = _decode_component(raw_value) if equals else None
        result[key] = _combine(result[key], value) if key in result else value
    return result


def _decode_component(component: str) -> str:
    """Decode `+` as a space, then percent-escapes; malformed escapes stay as written."""
    return unquote(component.replace("+", " "))


def _combine(existing: Any, value: str | None) -> Any:
    """Add a repeated key's value: a list, or a numbered object once the list would pass the limit."""
    if isinstance(existing, dict):
        existing[str(len(existing))] = value
        return existing
    values = [*existing, value] if isinstance(existing, list) else [existing, value]
    if len(values) > LIST_LIMIT:
        return {str(index): item for index, item in enumerate(values)}
    return values


def _parse_nested(query: str) -> dict[str, Any]:
    """Parse a query with brackets through qs_codec, the Python port of `qs`."""
    try:
        parsed = decode(query, _QS_OPTIONS)
    except (ValueError, TypeError, IndexError, KeyError, RecursionError):
        # A bug in the port must not turn a webhook call into a 500; the flat reading keeps every pair.
        return _parse_flat(query)
    plain: dict[str, Any] = _plain(parsed)
    return plain


def _plain(value: Any) -> Any:
    """Copy qs_codec's containers (it marks list overflows with a dict subclass) into plain JSON ones."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
