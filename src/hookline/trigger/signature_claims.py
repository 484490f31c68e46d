"""What every signature preset shares: the request it reads, the claim it returns, and how it reads headers.

A preset reads what a request claims (its signatures, the bytes they cover, when they were made) and,
for test requests, writes the headers its sender would send. The check itself (any secret matching,
the time window) is `signatures.SignatureCheck`, the same for every preset.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from base64 import b64decode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hookline.errors import Problem, RejectedRequest

Options = Mapping[str, Any]
"""A validated `config.signature`, for the presets that read more than its secrets."""

WHERE = "config.signature"
"""Where the signature setting sits in a trigger config, for problems."""

TIMESTAMP = re.compile(r"[0-9]{1,12}")
"""Unix seconds as senders write them."""

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (RFC 9110 token)."""

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request as a signature sees it: first header values by lower-case name, raw body, and URL."""

    headers: Mapping[str, str]
    raw: bytes
    url: str = ""
    """The URL the request was made to, query string included, as publicly as hookline knows it."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What a request claims: the signatures it carries, the bytes they cover, and when it was signed."""

    signatures: tuple[bytes, ...]
    contents: tuple[bytes, ...]
    """What the sender may have signed; any one matching passes (Twilio: the URL with or without port)."""
    timestamp: int | None = None
    digest: str | None = "sha256"
    """The HMAC's hash; None when the "signature" is the secret itself (a shared token)."""


@dataclass(frozen=True, slots=True)
class Signed:
    """What a sender sends with a body it signed: the headers, and the URL (Twilio may add to it)."""

    headers: dict[str, str]
    url: str


def _utf8(secret: str) -> bytes | None:
    return secret.encode()


def _no_problems(options: Options) -> list[Problem]:
    del options
    return []


@dataclass(frozen=True, slots=True)
class Preset:
    """How one sender signs: which headers carry the claim, how to read it, how to write it for a body."""

    headers: tuple[str, ...]
    """The lower-case names of the headers the preset reads (the first one names it in messages)."""
    read: Callable[[SignedRequest, Options], Claim]
    write: Callable[[bytes, SignedRequest, Options, int], Signed] | None
    """(key, request, setting, now) → what the sender sends; None when it cannot be shown (a token)."""
    key: Callable[[str], bytes | None] = _utf8
    """A configured secret → the key bytes; None when the secret is not in the sender's format."""
    timed: bool = False
    """Whether a tolerance may be set (the sender signs a timestamp)."""
    fields: tuple[str, ...] = ()
    """The setting's fields besides preset, secrets and tolerance."""
    problems: Callable[[Options], list[Problem]] = _no_problems
    """The problems with those fields (the setting is known to be an object)."""
    hint: str = ""
    """Said after `signature_invalid`: the usual cause when the secret is right."""


def mac(key: bytes, content: bytes, digest: str = "sha256") -> bytes:
    """The HMAC of `content` keyed with `key`."""
    return hmac.digest(key, content, getattr(hashlib, digest))


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value; a missing or empty one is `signature_missing`."""
    value = headers.get(name, "").strip()
    if not value:
        raise RejectedRequest(401, "signature_missing", f"The request has no {display(name)} header.")
    return value


def timestamp_header(headers: Mapping[str, str], name: str) -> str:
    """A header holding Unix seconds, as sent (the sender signed the text, not the number)."""
    text = header(headers, name)
    if not TIMESTAMP.fullmatch(text):
        raise invalid(f"The {display(name)} header is not a Unix time in seconds.")
    return text


def from_hex(text: str) -> bytes | None:
    """Hex digits as bytes, None when they are not."""
    return bytes.fromhex(text) if _HEX.fullmatch(text) else None


def from_base64(text: str) -> bytes | None:
    """Base64 as bytes, None when it is not."""
    try:
        return b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def prefixed(text: str, prefix: str, decode: Callable[[str], bytes | None]) -> bytes | None:
    """The decoded signature after `prefix` (as in `sha256=<hex>`), None when it is not one."""
    return decode(text[len(prefix) :]) if text.startswith(prefix) else None


def one(signature: bytes | None, name: str) -> tuple[bytes, ...]:
    """A header's single signature; one not in the sender's format is `signature_invalid`."""
    if signature is None:
        raise invalid(f"The {display(name)} header is not a signature in the sender's format.")
    return (signature,)


def as_sent(value: str) -> bytes:
    """A header value as the bytes that were sent (ASGI decodes header bytes as Latin-1)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


def invalid(message: str) -> RejectedRequest:
    """A 401 `signature_invalid` with this message."""
    return RejectedRequest(401, "signature_invalid", message)


_DISPLAY = {"x-hub-signature-256": "X-Hub-Signature-256", "x-shopify-hmac-sha256": "X-Shopify-Hmac-Sha256"}


def display(name: str) -> str:
    """A lower-case header name as senders' documentation writes it."""
    return _DISPLAY.get(name) or "-".join(part.capitalize() for part in name.split("-"))


# -- the public URL a sender signs (Twilio, and `{url}` in a generic HMAC) ------------------------


def signed_url(options: Options, url: str) -> str:
    """The URL the sender signed: `url`, or the setting's public `url` with the request's query string."""
    public = options.get("url")
    if not public:
        return url
    _, _, query = url.partition("?")
    return f"{public}?{query}" if query else str(public)


def url_problems(options: Options) -> list[Problem]:
    """The problems with a setting's `url`: an absolute http(s) URL without query string or fragment."""
    if "url" not in options:
        return []
    url = options["url"]
    where = f"{WHERE}.url"
    if not isinstance(url, str):
        return [Problem(where, "must be the public URL the sender calls, like https://hooks.example.com/…")]
    try:
        parts = urlsplit(url)
        absolute = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad port or IPv6 address
        absolute = False
    if not absolute:
        return [Problem(where, "must be an absolute http:// or https:// URL, as the sender calls it")]
    if parts.query or parts.fragment or "?" in url or "#" in url:
        # The request's own query string is appended: it holds what the sender adds (bodySHA256).
        return [Problem(where, "must not hold a query string or fragment: the request's own is added")]
    return []
