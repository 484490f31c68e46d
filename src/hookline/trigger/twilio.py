"""The `twilio` signature preset, as the `twilio` package's `RequestValidator` checks it.

`X-Twilio-Signature` is the base64 HMAC-SHA1, keyed with the account's auth token, of the URL Twilio
called followed, for a form-encoded body, by each parameter name and its value, names sorted (a
repeated name's distinct values sorted too). Any other body is not signed itself: Twilio adds its hex
SHA-256 to the URL as `bodySHA256`, and that must match. Because Twilio is inconsistent about
ports, the URL is tried both with its port (443 or 80 added when absent) and without.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
from base64 import b64encode
from collections import defaultdict
from collections.abc import Mapping
from urllib.parse import ParseResult, parse_qs, parse_qsl, urlparse

from hookline.trigger.signature_claims import (
    Claim,
    Options,
    Preset,
    Signed,
    SignedRequest,
    from_base64,
    header,
    invalid,
    mac,
    one,
    signed_url,
    url_problems,
)

SIGNATURE = "x-twilio-signature"
SETTINGS = "x-twilio-webhooks-signature-settings"
"""Sent instead of the auth token's signature by webhooks signed with a shared key (`algorithm=…`)."""

_ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
_FORM = "application/x-www-form-urlencoded"


def read_twilio(request: SignedRequest, options: Options) -> Claim:
    """The signature, and the URL (with and without port) plus the sorted form parameters it covers."""
    signature = one(from_base64(header(request.headers, SIGNATURE)), SIGNATURE)
    digest = _digest(request.headers.get(SETTINGS, ""))
    url = signed_url(options, request.url)
    try:
        parsed = urlparse(url)
        variants = (_without_port(parsed), _with_port(parsed))
    except ValueError:  # a Host header with a port that is not one: nobody signed this URL
        raise invalid("The request's URL cannot be the one Twilio signed.") from None
    if _is_form(request.headers):
        parameters = _parameters(request.raw, request.headers)
    else:
        _check_body_hash(request.raw, parsed.query)
        parameters = ""
    contents = tuple(dict.fromkeys((variant + parameters).encode() for variant in variants))
    return Claim(signature, contents, digest=digest)


def write_twilio(key: bytes, request: SignedRequest, options: Options, now: int) -> Signed:
    """What Twilio sends with this body: a form's parameters signed, any other body's hash in the URL."""
    del now
    url = request.url
    parameters = ""
    if _is_form(request.headers):
        parameters = _parameters(request.raw, request.headers)
    elif request.raw:
        url += ("&" if "?" in url else "?") + "bodySHA256=" + hashlib.sha256(request.raw).hexdigest()
    content = _without_port(urlparse(signed_url(options, url))) + parameters
    signature = b64encode(mac(key, content.encode(), "sha1")).decode()
    return Signed({"X-Twilio-Signature": signature}, url)


def _digest(settings: str) -> str:
    """The hash named by `X-Twilio-Webhooks-Signature-Settings` (`key=…,algorithm=…`); SHA-1 without it."""
    for part in settings.split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            digest = _ALGORITHMS.get(value.strip().upper())
            if digest is None:
                raise invalid("The X-Twilio-Webhooks-Signature-Settings header names an unknown algorithm.")
            return digest
    return "sha1"


def _is_form(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").partition(";")[0].strip().lower() == _FORM


def _parameters(raw: bytes, headers: Mapping[str, str]) -> str:
    """A form body's parameters as Twilio signs them: names sorted, each then its distinct values sorted."""
    values: defaultdict[str, set[str]] = defaultdict(set)
    charset = _charset(headers)
    for name, value in parse_qsl(raw.decode(charset, "replace"), keep_blank_values=True, encoding=charset):
        values[name].add(value)
    return "".join(name + value for name in sorted(values) for value in sorted(values[name]))


def _charset(headers: Mapping[str, str]) -> str:
    """The form's charset from its Content-Type (UTF-8 unless it names another that Python knows)."""
    for parameter in headers.get("content-type", "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                return "utf-8"
    return "utf-8"


def _check_body_hash(raw: bytes, query: str) -> None:
    """A body that is not a form must match the `bodySHA256` in the URL, the only thing that signs it."""
    claimed = parse_qs(query).get("bodySHA256")
    if claimed is None:
        if raw:
            raise invalid(
                "Twilio signs a body that is not a form through a bodySHA256 URL parameter; it has none."
            )
        return
    if not hmac.compare_digest(hashlib.sha256(raw).hexdigest(), claimed[0]):
        raise invalid("The body does not match the bodySHA256 parameter of the signed URL.")


def _without_port(url: ParseResult) -> str:
    """The URL without its port, as `RequestValidator` writes it."""
    if not url.port:
        return url.geturl()
    return url._replace(netloc=url.netloc.split(":")[0]).geturl()


def _with_port(url: ParseResult) -> str:
    """The URL with its port, the scheme's default added when it has none, as `RequestValidator` does."""
    if url.port:
        return url.geturl()
    port = 443 if url.scheme == "https" else 80
    return url._replace(netloc=f"{url.netloc}:{port}").geturl()


TWILIO = Preset(
    (SIGNATURE,),
    read_twilio,
    write_twilio,
    fields=("url",),
    problems=url_problems,
    hint="Twilio signs the URL it called: behind a proxy, set HOOKLINE_PUBLIC_URL (docs/senders.md).",
)
"""Twilio: no timestamp, so no tolerance; `url` is the public URL Twilio calls, when it is not ours."""
