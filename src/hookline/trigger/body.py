"""Request bodies parsed by content type: JSON now, through a table other formats can join."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from hookline.errors import RejectedRequest
from hookline.trigger.storable import check_json_body, json_too_deep, number_out_of_range
from hookline.types import JsonValue

DEFAULT_DEPTH_LIMIT = 64
"""The JSON depth limit when none is given (`Settings.json_depth_limit`)."""

BodyParser = Callable[[bytes, int], JsonValue]
"""Turns the raw bytes of a body (and the JSON depth limit) into its JSON value, or raises RejectedRequest."""

_UTF8_BOM = b"\xef\xbb\xbf"


def media_type(content_type: str | None) -> str:
    """The lower-cased media type of a Content-Type header, without its parameters ("" when absent)."""
    if not content_type:
        return ""
    return content_type.partition(";")[0].strip().lower()


def is_json_type(content_type: str | None) -> bool:
    """Whether a Content-Type is `application/json` or an `application/*+json` type."""
    kind = media_type(content_type)
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def parse_body(content_type: str | None, raw: bytes, depth_limit: int = DEFAULT_DEPTH_LIMIT) -> JsonValue:
    """The parsed body for its Content-Type; None for types hookline does not read."""
    parser = parser_for(content_type)
    return None if parser is None else parser(raw, depth_limit)


def parser_for(content_type: str | None) -> BodyParser | None:
    """The parser for a Content-Type, or None when hookline does not read that type."""
    if is_json_type(content_type):
        return parse_json
    return _PARSERS.get(media_type(content_type))


def parse_json(raw: bytes, depth_limit: int = DEFAULT_DEPTH_LIMIT) -> JsonValue:
    """Parse a JSON body; an empty body is None, malformed JSON is a 400, and so is one hookline
    cannot store as it came (too deep, a NUL character, an integer beyond 64 bits: `storable`)."""
    if not raw:
        return None
    # RFC 8259 lets parsers ignore a byte order mark, and some Windows clients send one.
    document = raw[len(_UTF8_BOM) :] if raw.startswith(_UTF8_BOM) else raw
    try:
        value: JsonValue = orjson.loads(document)
    except orjson.JSONDecodeError as error:
        if error.msg.startswith("depth limit exceeded"):
            raise json_too_deep(depth_limit) from None
        if error.msg.startswith("number is infinity"):
            raise number_out_of_range("a number too large for a 64-bit float") from None
        raise _malformed_json(document, error) from None
    check_json_body(document, value, depth_limit)
    return value


def _malformed_json(document: bytes, error: orjson.JSONDecodeError) -> RejectedRequest:
    """The 400 for a body that is not JSON, saying where it goes wrong."""
    try:
        document.decode("utf-8")
    except UnicodeDecodeError as bad_text:
        # orjson reports position 0 for bad UTF-8 anywhere, so the decoder gives the real byte offset.
        detail = f"it is not valid UTF-8 at byte {bad_text.start}"
    else:
        detail = f"{error.msg} at line {error.lineno}, column {error.colno}"
    return RejectedRequest(400, "malformed_json", f"The request body is not valid JSON: {detail}.")


_PARSERS: dict[str, BodyParser] = {}
"""Parsers by media type for the formats beyond JSON (form, multipart, text, XML, NDJSON come later)."""
