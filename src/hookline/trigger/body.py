"""Request bodies parsed by content type: JSON now, through a table other formats can join."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from hookline.errors import RejectedRequest
from hookline.types import JsonValue

BodyParser = Callable[[bytes], JsonValue]
"""Turns the raw bytes of a body into its JSON value, or raises RejectedRequest."""

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


def parse_body(content_type: str | None, raw: bytes) -> JsonValue:
    """The parsed body for its Content-Type; None for types hookline does not read."""
    parser = parser_for(content_type)
    return None if parser is None else parser(raw)


def parser_for(content_type: str | None) -> BodyParser | None:
    """The parser for a Content-Type, or None when hookline does not read that type."""
    if is_json_type(content_type):
        return parse_json
    return _PARSERS.get(media_type(content_type))


def parse_json(raw: bytes) -> JsonValue:
    """Parse a JSON body; an empty body is None, malformed JSON is a 400."""
    if not raw:
        return None
    # RFC 8259 lets parsers ignore a byte order mark, and some Windows clients send one.
    document = raw[len(_UTF8_BOM) :] if raw.startswith(_UTF8_BOM) else raw
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError as error:
        raise _malformed_json(document, error) from None


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
