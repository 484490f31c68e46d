"""Request bodies parsed by content type: JSON, form fields, text, NDJSON and XML, through one table.

Each is parsed from the exact bytes received, in the charset its Content-Type names (UTF-8 when
it names none; JSON is always UTF-8; an XML document without one may name its own, see
`xml_body`). A type hookline does not read gives a null body: nothing is guessed.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from hookline.errors import RejectedRequest
from hookline.trigger.query import PARAMETER_LIMIT, parse_form
from hookline.trigger.storable import check_json_body, json_too_deep, nul_refused, number_out_of_range
from hookline.trigger.xml_body import declared_encoding, parse_xml
from hookline.types import JsonValue

DEFAULT_DEPTH_LIMIT = 64
"""The JSON depth limit when none is given (`Settings.json_depth_limit`)."""

READ_TYPES = (
    "application/json",
    "application/*+json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "text/xml",
    "*/*+xml",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "text/*",
)
"""The media types hookline parses (`*` stands for any name), as messages and the docs list them."""

MAX_NDJSON_LINES = 10_000
"""The most lines an NDJSON body may have; more is refused (400 `too_many_lines`)."""


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """What a parsed body may hold (`Settings.json_depth_limit`, `Settings.query_parameter_limit`)."""

    json_depth: int = DEFAULT_DEPTH_LIMIT
    form_fields: int = PARAMETER_LIMIT


BodyParser = Callable[[bytes, str | None, BodyLimits], JsonValue]
"""Turns the raw bytes of a body, in the charset its Content-Type names (None: it names none), into
its JSON value, or raises RejectedRequest."""

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


def parse_body(content_type: str | None, raw: bytes, limits: BodyLimits = BodyLimits()) -> JsonValue:
    """The parsed body for its Content-Type; None for types hookline does not read."""
    parser = parser_for(content_type)
    return None if parser is None else parser(raw, named_charset(content_type), limits)


def parser_for(content_type: str | None) -> BodyParser | None:
    """The parser for a Content-Type, or None when hookline does not read that type."""
    if is_json_type(content_type):
        return _json
    kind = media_type(content_type)
    if kind.endswith("+xml"):
        return _xml
    if kind.startswith("text/") and kind not in _PARSERS:
        return _text
    return _PARSERS.get(kind)


_NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "utf-7"})
"""Python text codecs that are no charset a sender means: `idna`, `punycode` and `undefined` fail with
a bare UnicodeError, and the escape codecs and UTF-7 (which browsers dropped for its security holes)
decode to lone surrogates, which storage cannot write."""

_CHARSET = re.compile(r';\s*charset\s*=\s*"?([^";\s]+)', re.IGNORECASE)


def charset(content_type: str | None) -> str:
    """The charset a Content-Type names (`utf-8` when none); 415 `unsupported_charset` for an unknown one."""
    return named_charset(content_type) or "utf-8"


def named_charset(content_type: str | None) -> str | None:
    """The charset a Content-Type names, None when it names none; 415 for an unknown one."""
    found = _CHARSET.search(content_type) if content_type else None
    return None if found is None else known_charset(found.group(1))


def known_charset(name: str) -> str:
    """The codec name of a charset; 415 `unsupported_charset` when Python has no text codec for it."""
    name = name.lower()
    try:
        known = codecs.lookup(name)
    except LookupError:
        known = None
    # Some codecs (rot13, base64, zlib) transform bytes or text rather than encode text.
    if known is None or not getattr(known, "_is_text_encoding", True) or known.name in _NOT_CHARSETS:
        raise RejectedRequest(415, "unsupported_charset", f"hookline cannot read the charset {name!r}.")
    return known.name


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


def _json(raw: bytes, charset: str | None, limits: BodyLimits) -> JsonValue:
    """A JSON body (always UTF-8: RFC 8259 allows no other charset on the wire)."""
    return parse_json(raw, limits.json_depth)


def _text(raw: bytes, charset: str | None, limits: BodyLimits) -> JsonValue:
    """A `text/*` body as its text."""
    return decoded_text(raw, charset or "utf-8")


def _form(raw: bytes, charset: str | None, limits: BodyLimits) -> JsonValue:
    """An `application/x-www-form-urlencoded` body: its fields, nested by the qs rules of the query."""
    charset = charset or "utf-8"
    text = decoded_text(raw, charset)
    if "%00" in text:
        raise nul_refused("body")
    return parse_form(text, encoding=charset, field_limit=limits.form_fields)


def _xml(raw: bytes, charset: str | None, limits: BodyLimits) -> JsonValue:
    """An XML body (see `xml_body`): the Content-Type's charset wins over the document's own."""
    if charset is None:
        declared = declared_encoding(raw)
        charset = "utf-8" if declared is None else known_charset(declared)
    return parse_xml(decoded_text(raw, charset), limits.json_depth)


def _ndjson(raw: bytes, charset: str | None, limits: BodyLimits) -> JsonValue:
    """An NDJSON (JSON Lines) body: the list of its lines' values; blank lines are skipped."""
    if raw.count(b"\n") >= MAX_NDJSON_LINES:
        message = f"The NDJSON body has more than {MAX_NDJSON_LINES} lines."
        raise RejectedRequest(400, "too_many_lines", message)
    # Each line on its own: joined into one array, `1,2` on one line would pass as two values.
    return [
        _ndjson_line(line, number, limits)
        for number, line in enumerate(raw.split(b"\n"), start=1)
        if line.strip()
    ]


def _ndjson_line(line: bytes, number: int, limits: BodyLimits) -> JsonValue:
    """One NDJSON line's value; its error says which line it is."""
    try:
        return parse_json(line, limits.json_depth)
    except RejectedRequest as error:
        detail = error.message.removeprefix("The request body ").removeprefix("The JSON body ")
        raise RejectedRequest(
            error.status, error.code, f"Line {number} of the NDJSON body {detail}"
        ) from None


def decoded_text(raw: bytes, charset: str) -> str:
    """The body's text in its charset; 400 `malformed_text` for bytes it cannot be, or a NUL."""
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError as bad:
        message = f"The request body is not valid {charset} text at byte {bad.start}."
        raise RejectedRequest(400, "malformed_text", message) from None
    if "\x00" in text:
        raise nul_refused("body")
    return text


_PARSERS: dict[str, BodyParser] = {
    "application/x-www-form-urlencoded": _form,
    "application/x-ndjson": _ndjson,
    "application/ndjson": _ndjson,
    "application/jsonl": _ndjson,
    "application/xml": _xml,
    "text/xml": _xml,
}
"""Parsers by media type for the formats beyond JSON and text (`+xml` types are XML too; multipart
comes later)."""
