"""The signature presets by name: how each sender signs, read from a request and written for a test one.

Each reader follows its sender's documentation; each writer sends what that sender would (it signs
the UI's test requests). Twilio and the generic HMAC scheme have modules of their own.
"""

from __future__ import annotations

import secrets
from base64 import b64encode

from hookline.trigger.hmac_scheme import HMAC
from hookline.trigger.signature_claims import (
    TIMESTAMP,
    Claim,
    Options,
    Preset,
    Signed,
    SignedRequest,
    as_sent,
    display,
    from_base64,
    from_hex,
    header,
    invalid,
    mac,
    one,
    prefixed,
    timestamp_header,
)
from hookline.trigger.twilio import TWILIO


def _read_github(request: SignedRequest, options: Options) -> Claim:
    signature = prefixed(header(request.headers, "x-hub-signature-256"), "sha256=", from_hex)
    return Claim(one(signature, "x-hub-signature-256"), (request.raw,))


def _write_github(key: bytes, request: SignedRequest, options: Options, now: int) -> Signed:
    return Signed({"X-Hub-Signature-256": "sha256=" + mac(key, request.raw).hex()}, request.url)


def _read_gitlab(request: SignedRequest, options: Options) -> Claim:
    # A shared token, not a signature: it covers nothing, and it is compared with the key itself.
    return Claim((as_sent(header(request.headers, "x-gitlab-token")),), (b"",), digest=None)


def _read_shopify(request: SignedRequest, options: Options) -> Claim:
    signature = from_base64(header(request.headers, "x-shopify-hmac-sha256"))
    return Claim(one(signature, "x-shopify-hmac-sha256"), (request.raw,))


def _write_shopify(key: bytes, request: SignedRequest, options: Options, now: int) -> Signed:
    return Signed({"X-Shopify-Hmac-Sha256": b64encode(mac(key, request.raw)).decode()}, request.url)


def _read_stripe(request: SignedRequest, options: Options) -> Claim:
    """`Stripe-Signature: t=<unix>,v1=<hex>,v1=<hex>,v0=…`; only `v1` counts, the first `t` is signed."""
    fields = [part.strip().partition("=") for part in header(request.headers, "stripe-signature").split(",")]
    stamps = [value for name, _, value in fields if name == "t"]
    signatures = tuple(s for name, _, value in fields if name == "v1" and (s := from_hex(value)) is not None)
    if not stamps or not TIMESTAMP.fullmatch(stamps[0]) or not signatures:
        raise invalid("The Stripe-Signature header has no t= timestamp or no v1= signature.")
    return Claim(signatures, (stamps[0].encode() + b"." + request.raw,), int(stamps[0]))


def _write_stripe(key: bytes, request: SignedRequest, options: Options, now: int) -> Signed:
    signature = mac(key, f"{now}.".encode() + request.raw).hex()
    return Signed({"Stripe-Signature": f"t={now},v1={signature}"}, request.url)


def _read_slack(request: SignedRequest, options: Options) -> Claim:
    signature = prefixed(header(request.headers, "x-slack-signature"), "v0=", from_hex)
    timestamp = timestamp_header(request.headers, "x-slack-request-timestamp")
    content = f"v0:{timestamp}:".encode() + request.raw
    return Claim(one(signature, "x-slack-signature"), (content,), int(timestamp))


def _write_slack(key: bytes, request: SignedRequest, options: Options, now: int) -> Signed:
    signature = mac(key, f"v0:{now}:".encode() + request.raw).hex()
    return Signed(
        {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": f"v0={signature}"}, request.url
    )


def _read_standard(request: SignedRequest, options: Options) -> Claim:
    """`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> v1,<base64>`; Svix sends
    the same as `svix-*`."""
    headers = request.headers
    family = "webhook" if any(f"webhook-{part}" in headers for part in ("id", "signature")) else "svix"
    message_id = header(headers, f"{family}-id")
    timestamp = timestamp_header(headers, f"{family}-timestamp")
    entries = [entry.partition(",") for entry in header(headers, f"{family}-signature").split()]
    # Other versions (`v1a`, asymmetric) are skipped, as the Standard Webhooks libraries do.
    signatures = tuple(s for version, _, value in entries if version == "v1" and (s := from_base64(value)))
    if not signatures:
        raise invalid(f"The {display(family + '-signature')} header has no v1 signature.")
    content = f"{message_id}.{timestamp}.".encode() + request.raw
    return Claim(signatures, (content,), int(timestamp))


def _write_standard(key: bytes, request: SignedRequest, options: Options, now: int) -> Signed:
    message_id = f"msg_{secrets.token_hex(12)}"
    signature = b64encode(mac(key, f"{message_id}.{now}.".encode() + request.raw)).decode()
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(now),
        "webhook-signature": f"v1,{signature}",
    }
    return Signed(headers, request.url)


def _whsec(secret: str) -> bytes | None:
    """A Standard Webhooks secret's key: the base64 after an optional `whsec_` prefix."""
    key = from_base64(secret.removeprefix("whsec_"))
    return key or None


PRESETS: dict[str, Preset] = {
    "github": Preset(("x-hub-signature-256",), _read_github, _write_github),
    "gitlab": Preset(("x-gitlab-token",), _read_gitlab, None),
    "shopify": Preset(("x-shopify-hmac-sha256",), _read_shopify, _write_shopify),
    "stripe": Preset(("stripe-signature",), _read_stripe, _write_stripe, timed=True),
    "standard-webhooks": Preset(
        ("webhook-signature", "svix-signature"), _read_standard, _write_standard, _whsec, timed=True
    ),
    "slack": Preset(("x-slack-signature",), _read_slack, _write_slack, timed=True),
    "twilio": TWILIO,
    "hmac": HMAC,
}
"""The presets by `config.signature.preset` name, each as its sender documents it."""
