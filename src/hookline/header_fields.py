"""The header fields of a webhook answer: RFC 9110's rules, and the one way a header goes on the wire.

A workflow names its answer's headers in its config and templates their values, so a value is
only known once a request renders it. Everything that sends a workflow's header goes through
`encode_headers`, which refuses what HTTP cannot carry *before* anything is committed: a header
that reached the server only after the execution was recorded would make the server fail (or
drop the connection) while the record says the request was accepted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import orjson

from hookline.types import JsonValue

FRAMING_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
    }
)
"""Headers that frame the message or only concern one connection: hookline frames every answer."""

HOOKLINE_HEADERS = frozenset({"x-hookline-execution", "x-hookline-duplicate"})
"""Headers hookline itself adds to a webhook answer."""

RESERVED_HEADERS = FRAMING_HEADERS | HOOKLINE_HEADERS
"""Headers a workflow may not set: refused when it is saved, dropped from a workflow stored before."""

SECURITY_HEADERS = (
    (b"content-security-policy", b"sandbox; default-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
)
"""Raw pairs on every webhook answer, after the workflow's own headers: a page a workflow answers is
sandboxed (an opaque origin, no script), so it can never act in the admin UI's origin, which it may
share. A workflow's own `Content-Security-Policy` stays; a second policy can only narrow it."""

NAME_RULE = "must be a header name: letters, digits and !#$%&'*+-.^_`|~ only, no spaces"
"""The problem with a header name that is not an RFC 9110 token."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What a field value may not hold (RFC 9110 §5.5): controls other than HTAB, and DEL."""
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)


class Unsendable(ValueError):
    """A rendered answer that HTTP cannot carry; the message names the header (or the body) and why."""


def name_problem(name: str) -> str | None:
    """What is wrong with a header name a workflow's config gives, or None when it may be sent."""
    if not _TOKEN.fullmatch(name):
        return NAME_RULE
    if name.lower() in RESERVED_HEADERS:
        return f"hookline sets {name!r} itself; a workflow cannot set it"
    return None


def value_problem(template: str) -> str | None:
    """What is wrong with the fixed text of a templated header value (outside `{{ }}`), or None."""
    found = _CONTROL.search(_PLACEHOLDER.sub("", template))
    return None if found is None else f"holds the control character {_code_point(found.group())}"


def encode_headers(
    headers: Iterable[tuple[str, JsonValue]],
) -> tuple[tuple[tuple[str, str], ...], list[tuple[bytes, bytes]]]:
    """Rendered headers as recorded (name, text) and as sent (lower-case name, UTF-8 value).

    A value that is not text is sent as JSON, null as empty text. A reserved header (see
    `RESERVED_HEADERS`) of a workflow stored before they were refused is dropped from both.
    Raises `Unsendable` for a name that is no token or a value holding a control character.
    """
    texts: list[tuple[str, str]] = []
    raw: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        wire = wire_name(name)
        if wire is None:
            continue
        text = header_text(name, value)
        texts.append((name, text))
        raw.append((wire, text.encode()))
    return tuple(texts), raw


@functools.lru_cache(maxsize=1024)
def wire_name(name: str) -> bytes | None:
    """A header name as sent (lower-case bytes), None for a reserved one; `Unsendable` if no token.

    Cached: a workflow's header names are fixed in its config, so they are checked once.
    """
    if not _TOKEN.fullmatch(name):
        raise Unsendable(f"the header name {name!r} is not a valid HTTP header name")
    lowered = name.lower()
    return None if lowered in RESERVED_HEADERS else lowered.encode("ascii")


def header_text(name: str, value: JsonValue) -> str:
    """A rendered header value as text: strings as they are, null as empty, others as JSON.

    Any text may be sent (non-ASCII as UTF-8) except control characters other than HTAB: a line
    break would split the answer's headers, and the server refuses the others.
    """
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    else:
        try:
            text = orjson.dumps(value).decode()
        except TypeError as error:  # orjson.JSONEncodeError: an integer beyond 64 bits, say
            raise Unsendable(f"the value of header {name!r} cannot be written as JSON: {error}") from None
    found = _CONTROL.search(text)
    if found is not None:
        raise Unsendable(
            f"the value of header {name!r} holds the control character {_code_point(found.group())}"
        )
    return text


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"
