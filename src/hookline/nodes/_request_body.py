"""The request node's body: its rendered `data` as the bytes of a JSON, form, multipart, XML or text body."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from hookline.expressions.templates import as_text
from hookline.types import JsonValue

MEDIA_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data",
    "xml": "application/xml",
    "text": "text/plain; charset=utf-8",
}
"""Each `contentType` and the Content-Type its body is sent with."""
ALIASES = {
    "application/json": "json",
    "application/x-www-form-urlencoded": "form",
    "multipart/form-data": "multipart",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/plain": "text",
}
"""NocoBase writes `contentType` as a MIME type; both spellings are accepted."""
DEFAULT_KIND = "json"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BodyError(ValueError):
    """Rendered data that cannot be sent as the configured content type; the message says why."""


@dataclass(frozen=True, slots=True)
class Body:
    """The bytes to send and their Content-Type (None when there is no body)."""

    content: bytes = b""
    content_type: str | None = None


def body_kind(content_type: Any) -> str | None:
    """The short name (`json`, `form`, …) of a configured `contentType`; None when it is neither spelling."""
    if content_type is None:
        return DEFAULT_KIND
    if not isinstance(content_type, str):
        return None
    name = content_type.strip().lower()
    return name if name in MEDIA_TYPES else ALIASES.get(name)


def encode_body(kind: str, data: JsonValue, boundary: str | None = None) -> Body:
    """The body for rendered `data` (no data, no body); `boundary` is for tests of multipart bytes."""
    if data is None:
        return Body()
    if kind == "multipart":
        return _multipart(data, boundary or f"hookline-{secrets.token_hex(16)}")
    return Body(_ENCODERS[kind](data), MEDIA_TYPES[kind])


def _json(data: JsonValue) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError as error:  # an integer beyond 64 bits, say
        raise BodyError(f"the data cannot be written as JSON: {error}") from None


def _form(data: JsonValue) -> bytes:
    # As URLSearchParams writes it: spaces as "+", everything else outside A-Z a-z 0-9 *-._ escaped.
    return urlencode([(name, value) for name, value, *_ in _fields(data)]).encode("ascii")


def _xml(data: JsonValue) -> bytes:
    if not isinstance(data, str):
        raise BodyError("an XML body must be text: write the document, with {{ }} placeholders inside it")
    return data.encode()


def _text(data: JsonValue) -> bytes:
    return as_text(data).encode()


_ENCODERS: dict[str, Callable[[JsonValue], bytes]] = {
    "json": _json,
    "form": _form,
    "xml": _xml,
    "text": _text,
}


def _multipart(data: JsonValue, boundary: str) -> Body:
    """multipart/form-data as browsers write it (names and file names quoted, `"` CR LF escaped)."""
    dash = f"--{boundary}".encode()
    chunks: list[bytes] = []
    for name, value, filename, media_type in _fields(data):
        disposition = f'Content-Disposition: form-data; name="{_quoted(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quoted(filename)}"'
        head = [disposition]
        if media_type is not None or filename is not None:
            head.append(f"Content-Type: {media_type or 'application/octet-stream'}")
        chunks += [dash, b"\r\n", "\r\n".join(head).encode(), b"\r\n\r\n", value.encode(), b"\r\n"]
    chunks += [dash, b"--\r\n"]
    return Body(b"".join(chunks), f"multipart/form-data; boundary={boundary}")


def _quoted(text: str) -> str:
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _fields(data: JsonValue) -> list[tuple[str, str, str | None, str | None]]:
    """(name, value, filename, content type) of a form: `{name: value}` or `[{name, value, …}]`."""
    if isinstance(data, dict):
        return [(str(name), as_text(value), None, None) for name, value in data.items()]
    if not isinstance(data, list):
        raise BodyError("form data must be an object {name: value} or a list of {name, value}")
    fields = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise BodyError(f"form field {index} must be an object with a name and a value")
        filename, media_type = entry.get("filename"), entry.get("contentType")
        if media_type is not None and (not isinstance(media_type, str) or _CONTROL.search(media_type)):
            raise BodyError(f"form field {entry['name']!r}: contentType must be a MIME type")
        fields.append(
            (
                entry["name"],
                as_text(entry.get("value")),
                None if filename is None else as_text(filename),
                media_type,
            )
        )
    return fields
