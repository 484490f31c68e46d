"""The generic `hmac` signature scheme, for senders without a preset: every part of it is configured.

`{"preset": "hmac", "header": "X-Signature", "algorithm": "sha256", "encoding": "hex", "prefix": "",
"content": "{timestamp}.{body}", "timestampHeader": "X-Timestamp", "idHeader": "X-Id"}`: the header
holds `prefix` then the encoded HMAC of `content`, a template over the raw `{body}`, the
`{timestamp}` and `{id}` headers' values, the `{url}` and any `{headers.<name>}`.
"""

from __future__ import annotations

import re
import secrets
from base64 import b64encode
from functools import lru_cache
from typing import Any

from hookline.errors import Problem
from hookline.trigger.signature_claims import (
    HEADER_NAME,
    WHERE,
    Claim,
    Options,
    Preset,
    Signed,
    SignedRequest,
    as_sent,
    from_base64,
    from_hex,
    header,
    mac,
    one,
    prefixed,
    signed_url,
    timestamp_header,
    url_problems,
)

ALGORITHMS = ("sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64")
DEFAULT_CONTENT = "{body}"
FIELDS = ("algorithm", "header", "prefix", "encoding", "content", "timestampHeader", "idHeader", "url")
"""The fields of an `hmac` setting besides preset, secrets and tolerance."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAMED = ("body", "timestamp", "id", "url")

Part = tuple[str, str]
"""One piece of a content template: ("text", literal), ("header", lower-case name), or (placeholder, "")."""


def read_hmac(request: SignedRequest, options: Options) -> Claim:
    """The signature in the configured header, over the content the template makes of this request."""
    name = options["header"].lower()
    decode = from_base64 if options.get("encoding") == "base64" else from_hex
    signature = one(prefixed(header(request.headers, name), options.get("prefix", ""), decode), name)
    stamp_header = options.get("timestampHeader")
    timestamp = timestamp_header(request.headers, stamp_header.lower()) if stamp_header else ""
    id_header = options.get("idHeader")
    message_id = header(request.headers, id_header.lower()) if id_header else ""
    content = _content(options, request, timestamp, message_id)
    return Claim(signature, (content,), int(timestamp) if timestamp else None, _algorithm(options))


def write_hmac(key: bytes, request: SignedRequest, options: Options, now: int) -> Signed:
    """The headers a sender using this scheme sends: the timestamp and id it made up, and the signature."""
    headers: dict[str, str] = {}
    timestamp = message_id = ""
    if stamp_header := options.get("timestampHeader"):
        timestamp = headers[stamp_header] = str(now)
    if id_header := options.get("idHeader"):
        message_id = headers[id_header] = f"msg_{secrets.token_hex(12)}"
    sent = {**request.headers, **{name.lower(): value for name, value in headers.items()}}
    content = _content(options, SignedRequest(sent, request.raw, request.url), timestamp, message_id)
    signature = mac(key, content, _algorithm(options))
    encoded = b64encode(signature).decode() if options.get("encoding") == "base64" else signature.hex()
    headers[options["header"]] = options.get("prefix", "") + encoded
    return Signed(headers, request.url)


def _algorithm(options: Options) -> str:
    return str(options.get("algorithm", "sha256"))


def _content(options: Options, request: SignedRequest, timestamp: str, message_id: str) -> bytes:
    """The bytes the template makes of a request; a header it lacks counts as empty."""
    values = {"timestamp": timestamp.encode(), "id": as_sent(message_id)}
    chunks = []
    for kind, text in content_parts(options.get("content", DEFAULT_CONTENT)):
        if kind == "body":
            chunks.append(request.raw)
        elif kind == "url":
            chunks.append(signed_url(options, request.url).encode())
        elif kind == "header":
            chunks.append(as_sent(request.headers.get(text, "")))
        elif kind == "text":
            chunks.append(text.encode())
        else:
            chunks.append(values[kind])
    return b"".join(chunks)


@lru_cache(maxsize=256)
def content_parts(template: str) -> tuple[Part, ...]:
    """A content template's pieces, in order; ValueError saying why when it is not one."""
    parts: list[Part] = []
    position = 0
    for found in _PLACEHOLDER.finditer(template):
        parts += [_text(template[position : found.start()]), _placeholder(found.group(1))]
        position = found.end()
    parts.append(_text(template[position:]))
    return tuple(part for part in parts if part != ("text", ""))


def _text(text: str) -> Part:
    if "{" in text or "}" in text:
        raise ValueError("has a { or } that is not part of a placeholder")
    return ("text", text)


def _placeholder(name: str) -> Part:
    if name in _NAMED:
        return (name, "")
    kind, dot, header_name = name.partition(".")
    if kind == "headers" and dot and HEADER_NAME.fullmatch(header_name):
        return ("header", header_name.lower())
    raise ValueError(
        f"has {{{name}}}: placeholders are {{body}}, {{timestamp}}, {{id}}, {{url}}, {{headers.<name>}}"
    )


# -- save-time checks ------------------------------------------------------------------------------


def hmac_problems(options: Options) -> list[Problem]:
    """The problems with an `hmac` setting's own fields, each at `config.signature.<field>`."""
    problems = _choice(options, "algorithm", ALGORITHMS) + _choice(options, "encoding", ENCODINGS)
    if not isinstance(options.get("header"), str) or not HEADER_NAME.fullmatch(options["header"]):
        problems.append(Problem(f"{WHERE}.header", "must name the header that carries the signature"))
    for field in ("timestampHeader", "idHeader"):
        if field in options and not _is_header_name(options[field]):
            problems.append(Problem(f"{WHERE}.{field}", "must be a header name, or left out"))
    if not isinstance(options.get("prefix", ""), str):
        problems.append(Problem(f"{WHERE}.prefix", 'must be the text before the signature, like "sha256="'))
    problems += _content_problems(options)
    problems += url_problems(options)
    tolerance = options.get("tolerance")
    if (
        isinstance(tolerance, int | float)
        and not isinstance(tolerance, bool)
        and "timestampHeader" not in options
    ):
        # Saying so beats silently ignoring it: the user may believe replays are refused.
        problems.append(
            Problem(f"{WHERE}.tolerance", "needs a timestampHeader: without one nothing is timed")
        )
    return problems


def _choice(options: Options, field: str, choices: tuple[str, ...]) -> list[Problem]:
    if field in options and options[field] not in choices:
        return [Problem(f"{WHERE}.{field}", f"must be one of: {', '.join(choices)}")]
    return []


def _is_header_name(value: Any) -> bool:
    return isinstance(value, str) and HEADER_NAME.fullmatch(value) is not None


def _content_problems(options: Options) -> list[Problem]:
    where = f"{WHERE}.content"
    template = options.get("content", DEFAULT_CONTENT)
    if not isinstance(template, str):
        return [Problem(where, "must be a template text, like {timestamp}.{body}")]
    try:
        parts = content_parts(template)
    except ValueError as error:
        return [Problem(where, str(error))]
    kinds = {kind for kind, _ in parts}
    problems = []
    if "body" not in kinds:
        problems.append(Problem(where, "must include {body}: otherwise the body is not signed"))
    for kind, field in (("timestamp", "timestampHeader"), ("id", "idHeader")):
        if kind in kinds and not _is_header_name(options.get(field)):
            problems.append(Problem(where, f"uses {{{kind}}}, so {field} must name the header it is in"))
    signature_header = options.get("header")
    if isinstance(signature_header, str) and ("header", signature_header.lower()) in parts:
        problems.append(Problem(where, "cannot sign the signature's own header"))
    return problems


HMAC = Preset((), read_hmac, write_hmac, timed=True, fields=FIELDS, problems=hmac_problems)
"""The generic scheme; `timed` because a `timestampHeader` may be set (checked in `hmac_problems`)."""
