"""The "parse from sample" helpers (docs/bodies.md#parse-from-a-sample): the paths of a sample query
string or body of any format.

Paths use the notation `parse_path` reads: names joined by dots, list items as `[0]`, and keys
that are not plain names (with `.`, `[`, spaces, quotes, ...) quoted as `a["x.y"]`. They are listed
depth-first in the order the keys appear, each branch before the paths below it:
`a[0][b]=1&a[1]=x&c=2` gives `a`, `a[0]`, `a[0].b`, `a[1]`, `c`.

Limits: a raw sample over `MAX_SAMPLE_BYTES` is refused with 413 before it is parsed, and a sample
with more than `MAX_PATHS` paths with 422 (the walk stops there, so a huge value costs little).
Query lists are listed whole (qs already caps them at 100 items); body lists show their first
`BODY_LIST_ITEMS` item(s), as NocoBase's screen does, since webhook lists repeat one shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from hookline.errors import RejectedRequest
from hookline.expressions.templates import parse_path
from hookline.trigger.body import READ_TYPES, media_type, parse_body, parser_for
from hookline.trigger.multipart import MULTIPART_TYPE, describe_sample
from hookline.trigger.query import parse_query

__all__ = [
    "BODY_LIST_ITEMS",
    "MAX_PATHS",
    "MAX_SAMPLE_BYTES",
    "body_paths",
    "items_from_paths",
    "parse_sample_body",
    "parse_sample_of_type",
    "parse_sample_query",
    "query_paths",
]

MAX_SAMPLE_BYTES = 1024 * 1024
"""The largest raw sample (URL, query or JSON text) the helpers parse, in UTF-8 bytes."""

MAX_PATHS = 10_000
"""The most paths one sample may give."""

BODY_LIST_ITEMS = 1
"""How many items of each list in a body sample get paths (the first, as in NocoBase)."""

_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|/")


def parse_sample_query(sample: str) -> tuple[dict[str, Any], list[str]]:
    """The parsed query of a sample URL, path or query string, and its paths.

    The query is what follows the first `?`; without one, a URL (`https://…`) or a path (`/…`)
    has none and anything else is taken as the query itself. A `#fragment` is dropped.
    """
    _check_size(sample)
    text = sample.strip().partition("#")[0]
    if "?" in text:
        text = text.partition("?")[2]
    elif _URL_START.match(text):
        text = ""
    try:
        parsed = parse_query(text)
    except RejectedRequest as exc:
        # A sample is a request body, not a URL: too many pairs makes it too complex, not too long.
        raise RejectedRequest(422, "sample_too_complex", exc.message) from exc
    return parsed, query_paths(parsed)


def parse_sample_body(sample: str | bytes) -> tuple[Any, list[str]]:
    """The parsed value of a sample JSON body, and its paths (see `body_paths`)."""
    _check_size(sample)
    try:
        parsed = orjson.loads(sample)
    except orjson.JSONDecodeError as exc:
        raise RejectedRequest(422, "invalid_sample", f"The sample is not valid JSON: {exc}.") from exc
    return parsed, body_paths(parsed)


def parse_sample_of_type(sample: str | bytes, content_type: str) -> tuple[Any, list[str]]:
    """The parsed value of a sample body of a type hookline reads (JSON, form, XML, NDJSON, text,
    multipart), parsed as a request's body is, and its paths (see `body_paths`).

    Text is read as the text it is: a charset in `content_type` or in an XML declaration does not
    apply to it. Bytes are read as a request's body would be, in the charset named there. A type
    hookline does not read is 422 `unsupported_content_type`, a sample its parser refuses 422
    `invalid_sample` with the parser's message.
    """
    _check_size(sample)
    kind = media_type(content_type)
    if kind != MULTIPART_TYPE and parser_for(kind) is None:
        named = f"the type {kind!r}" if kind else "a sample without a content type"
        message = f"hookline cannot parse {named}; it parses {', '.join((*READ_TYPES, MULTIPART_TYPE))}."
        raise RejectedRequest(422, "unsupported_content_type", message)
    if isinstance(sample, str):
        # A lone surrogate passes through, for the parser to refuse as text it cannot keep.
        sample, content_type = sample.encode("utf-8", "surrogatepass"), f"{kind}; charset=utf-8"
    try:
        if kind == MULTIPART_TYPE:
            parsed: Any = describe_sample(content_type, sample)
        else:
            parsed = parse_body(content_type, sample)
    except RejectedRequest as exc:
        message = exc.message.replace("The request body ", "The sample ", 1)
        raise RejectedRequest(422, "invalid_sample", message) from exc
    return parsed, body_paths(parsed)


def query_paths(parsed: Any) -> list[str]:
    """Every branch and leaf path of a parsed query, lists listed whole."""
    return _paths(parsed, list_items=None)


def body_paths(sample: Any, *, list_items: int | None = BODY_LIST_ITEMS) -> list[str]:
    """Every branch and leaf path of a JSON value; lists show their first `list_items` (None: all)."""
    return _paths(sample, list_items=list_items)


def items_from_paths(paths: list[str]) -> list[dict[str, str]]:
    """The paths as `config.request.*` items, each with an empty alias."""
    return [{"key": path, "alias": ""} for path in paths]


def _check_size(sample: str | bytes) -> None:
    # UTF-8 never takes fewer bytes than characters, so long text is refused without encoding it.
    size = len(sample)
    if isinstance(sample, str) and size <= MAX_SAMPLE_BYTES:
        size = len(sample.encode("utf-8", "surrogatepass"))
    if size > MAX_SAMPLE_BYTES:
        message = f"The sample is larger than {MAX_SAMPLE_BYTES} bytes; use a smaller one."
        raise RejectedRequest(413, "sample_too_large", message)


def _paths(value: Any, *, list_items: int | None) -> list[str]:
    """The paths below `value`, depth-first in key order; without recursion, so depth costs no stack."""
    paths: list[str] = []
    pending = [_children(value, "", list_items)]
    while pending:
        child = next(pending[-1], None)
        if child is None:
            pending.pop()
            continue
        path, item = child
        paths.append(path)
        if len(paths) > MAX_PATHS:
            message = f"The sample has more than {MAX_PATHS} paths; use a smaller one."
            raise RejectedRequest(422, "sample_too_complex", message)
        pending.append(_children(item, path, list_items))
    return paths


def _children(value: Any, prefix: str, list_items: int | None) -> Iterator[tuple[str, Any]]:
    """The path and value of each key or shown list item of `value`; nothing for a scalar."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield _key_path(prefix, str(key)), item
    elif isinstance(value, list | tuple):
        shown = len(value) if list_items is None else min(len(value), max(list_items, 0))
        for index in range(shown):
            yield f"{prefix}[{index}]", value[index]


def _key_path(prefix: str, key: str) -> str:
    """`prefix` followed by `key`: dotted when `parse_path` reads the key back whole, else quoted."""
    if _is_plain(key):
        return f"{prefix}.{key}" if prefix else key
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{prefix}["{escaped}"]'


def _is_plain(key: str) -> bool:
    # Asking the parser keeps this in step with its grammar; a digit key such as `0` reads back
    # as an index, which a mapping looks up as the same string key.
    try:
        segments = parse_path(key)
    except ValueError:
        return False
    return len(segments) == 1 and str(segments[0]) == key
