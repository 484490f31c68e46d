"""Signature verification of webhook requests over their exact raw bytes, one preset per sender.

Every preset reads what the request claims (its signatures, the bytes they cover, when they were
made) and the same code checks the claim: any configured secret may match (key rotation), every
comparison is constant-time, and a signed timestamp must lie within the tolerance either side of now.
The signature is checked before the timestamp, so `signature_expired` always means "authentic but
too old or too new" (a replay or a wrong clock), never "forged".
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import math
import re
from base64 import b64decode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hookline.errors import Problem, RejectedRequest, unknown_fields

DEFAULT_TOLERANCE = 300
"""Seconds a signed timestamp may be off from now, as Stripe, Slack and Standard Webhooks document."""

_WHERE = "config.signature"
_FIELDS = ("preset", "secrets", "tolerance")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


@dataclass(frozen=True, slots=True)
class Claim:
    """What a request claims: the signatures it carries, the bytes they cover, and when it was signed."""

    signatures: tuple[bytes, ...]
    content: bytes
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class Preset:
    """How one sender signs: which headers carry the claim, how to read it, how to sign with a key."""

    headers: tuple[str, ...]
    """The lower-case names of the headers the preset reads (the first one names it in messages)."""
    read: Callable[[Mapping[str, str], bytes], Claim]
    sign: Callable[[bytes, bytes], bytes]
    """(key, content) → the signature the sender would have sent, as bytes."""
    key: Callable[[str], bytes | None] = lambda secret: secret.encode()
    """A configured secret → the key bytes; None when the secret is not in the sender's format."""
    timed: bool = False


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """A validated `config.signature`: a preset, its keys and a tolerance, ready for every request."""

    preset: Preset
    keys: tuple[bytes, ...]
    tolerance: float

    def verify(self, headers: Mapping[str, str], raw: bytes, now: float) -> None:
        """Raise a 401 RejectedRequest unless the request is signed with one of the keys, in time."""
        claim = self.preset.read(headers, raw)
        expected = [self.preset.sign(key, claim.content) for key in self.keys]
        # Every pair is compared, so the time taken does not tell which secret or signature matched.
        matched = False
        for mine in expected:
            for theirs in claim.signatures:
                matched |= hmac.compare_digest(mine, theirs)
        if not matched:
            raise _invalid(f"The {_title(self.preset)} header does not hold a valid signature of this body.")
        if claim.timestamp is not None and abs(now - claim.timestamp) > self.tolerance:
            raise RejectedRequest(
                401,
                "signature_expired",
                f"The request was signed more than {self.tolerance:g} seconds away from now.",
            )


def check_signature(setting: Any, headers: Mapping[str, str], raw: bytes, now: float) -> None:
    """Raise a 401 RejectedRequest unless the request's signature matches `config.signature`.

    `headers` maps lower-case names to their first value; `raw` is the body exactly as received;
    `now` is the Unix time. Nothing is checked when `setting` is null or false.
    """
    check = signature_check(setting)
    if check is not None:
        check.verify(headers, raw, now)


def signature_check(setting: Any) -> SignatureCheck | None:
    """The check a `config.signature` asks for, None when it is off; a broken one locks the door (401)."""
    if setting is None or setting is False:
        return None
    if signature_problems(setting):
        # A setting that is on but unreadable must refuse every request, not let them all in.
        raise _invalid("Signature verification is switched on for this webhook but not set up correctly.")
    preset = PRESETS[setting["preset"]]
    keys = tuple(key for secret in setting["secrets"] if (key := preset.key(secret)) is not None)
    return SignatureCheck(preset, keys, setting.get("tolerance", DEFAULT_TOLERANCE))


def signature_problems(setting: Any) -> list[Problem]:
    """The problems with a `config.signature`, each at `config.signature.<field>`; empty when valid."""
    if setting is None or setting is False:
        return []
    if not isinstance(setting, dict):
        return [Problem(_WHERE, 'must be an object like {"preset": "github", "secrets": ["..."]}, or null')]
    problems = unknown_fields(setting, _FIELDS, _WHERE)
    name = setting.get("preset")
    preset = PRESETS.get(name) if isinstance(name, str) else None
    if preset is None:
        known = ", ".join(PRESETS)
        problems.append(Problem(f"{_WHERE}.preset", f"must be one of: {known}"))
    problems += _secrets_problems(setting.get("secrets"), preset)
    if "tolerance" in setting:
        problems += _tolerance_problems(setting["tolerance"], preset, name)
    return problems


def _secrets_problems(secrets: Any, preset: Preset | None) -> list[Problem]:
    where = f"{_WHERE}.secrets"
    if not isinstance(secrets, list) or not secrets:
        return [Problem(where, "must be a non-empty list of secrets (several while rotating keys)")]
    problems = []
    for index, secret in enumerate(secrets):
        if not isinstance(secret, str) or not secret:
            problems.append(Problem(f"{where}[{index}]", "must be a non-empty string"))
        elif preset is not None and preset.key(secret) is None:
            problems.append(Problem(f"{where}[{index}]", "must be base64, as given by the sender (whsec_…)"))
    return problems


def _tolerance_problems(tolerance: Any, preset: Preset | None, name: Any) -> list[Problem]:
    where = f"{_WHERE}.tolerance"
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        return [Problem(where, "must be a number of seconds")]
    if not math.isfinite(tolerance) or tolerance <= 0:
        return [Problem(where, "must be a positive number of seconds")]
    if preset is not None and not preset.timed:
        # Saying so beats silently ignoring it: the user may believe replays are refused.
        return [Problem(where, f"{name} requests carry no timestamp, so there is no tolerance to set")]
    return []


# -- reading what a request claims ---------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header's value; a missing or empty one is `signature_missing`."""
    value = headers.get(name, "").strip()
    if not value:
        raise RejectedRequest(401, "signature_missing", f"The request has no {_display(name)} header.")
    return value


def _timestamp(headers: Mapping[str, str], name: str) -> str:
    """A header holding Unix seconds, as sent (the sender signed the text, not the number)."""
    text = _header(headers, name)
    if not _TIMESTAMP.fullmatch(text):
        raise _invalid(f"The {_display(name)} header is not a Unix time in seconds.")
    return text


def _hex(text: str) -> bytes | None:
    return bytes.fromhex(text) if _HEX.fullmatch(text) else None


def _base64(text: str) -> bytes | None:
    try:
        return b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _prefixed(text: str, prefix: str, decode: Callable[[str], bytes | None]) -> bytes | None:
    """The decoded signature after `prefix` (as in `sha256=<hex>`), None when it is not one."""
    return decode(text[len(prefix) :]) if text.startswith(prefix) else None


def _one(signature: bytes | None, header: str) -> tuple[bytes, ...]:
    if signature is None:
        raise _invalid(f"The {_display(header)} header is not a signature in the sender's format.")
    return (signature,)


def _raw(value: str) -> bytes:
    """A header value as the bytes that were sent (ASGI decodes header bytes as Latin-1)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


def _read_github(headers: Mapping[str, str], raw: bytes) -> Claim:
    signature = _prefixed(_header(headers, "x-hub-signature-256"), "sha256=", _hex)
    return Claim(_one(signature, "x-hub-signature-256"), raw)


def _read_gitlab(headers: Mapping[str, str], raw: bytes) -> Claim:
    # A shared token, not a signature: it covers nothing, and "signing" returns the key itself.
    return Claim((_raw(_header(headers, "x-gitlab-token")),), b"")


def _read_shopify(headers: Mapping[str, str], raw: bytes) -> Claim:
    signature = _base64(_header(headers, "x-shopify-hmac-sha256"))
    return Claim(_one(signature, "x-shopify-hmac-sha256"), raw)


def _read_stripe(headers: Mapping[str, str], raw: bytes) -> Claim:
    """`Stripe-Signature: t=<unix>,v1=<hex>,v1=<hex>,v0=…`; only `v1` counts, the first `t` is signed."""
    fields = [part.strip().partition("=") for part in _header(headers, "stripe-signature").split(",")]
    stamps = [value for name, _, value in fields if name == "t"]
    signatures = tuple(s for name, _, value in fields if name == "v1" and (s := _hex(value)) is not None)
    if not stamps or not _TIMESTAMP.fullmatch(stamps[0]) or not signatures:
        raise _invalid("The Stripe-Signature header has no t= timestamp or no v1= signature.")
    return Claim(signatures, stamps[0].encode() + b"." + raw, int(stamps[0]))


def _read_slack(headers: Mapping[str, str], raw: bytes) -> Claim:
    signature = _prefixed(_header(headers, "x-slack-signature"), "v0=", _hex)
    timestamp = _timestamp(headers, "x-slack-request-timestamp")
    content = f"v0:{timestamp}:".encode() + raw
    return Claim(_one(signature, "x-slack-signature"), content, int(timestamp))


def _read_standard(headers: Mapping[str, str], raw: bytes) -> Claim:
    """`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> v1,<base64>`; Svix sends
    the same as `svix-*`."""
    family = "webhook" if any(f"webhook-{part}" in headers for part in ("id", "signature")) else "svix"
    message_id = _header(headers, f"{family}-id")
    timestamp = _timestamp(headers, f"{family}-timestamp")
    entries = [entry.partition(",") for entry in _header(headers, f"{family}-signature").split()]
    # Other versions (`v1a`, asymmetric) are skipped, as the Standard Webhooks libraries do.
    signatures = tuple(s for version, _, value in entries if version == "v1" and (s := _base64(value)))
    if not signatures:
        raise _invalid(f"The {_display(family + '-signature')} header has no v1 signature.")
    content = f"{message_id}.{timestamp}.".encode() + raw
    return Claim(signatures, content, int(timestamp))


def _hmac_sha256(key: bytes, content: bytes) -> bytes:
    return hmac.digest(key, content, hashlib.sha256)


def _whsec(secret: str) -> bytes | None:
    """A Standard Webhooks secret's key: the base64 after an optional `whsec_` prefix."""
    key = _base64(secret.removeprefix("whsec_"))
    return key or None


PRESETS: dict[str, Preset] = {
    "github": Preset(("x-hub-signature-256",), _read_github, _hmac_sha256),
    "gitlab": Preset(("x-gitlab-token",), _read_gitlab, lambda key, _: key),
    "shopify": Preset(("x-shopify-hmac-sha256",), _read_shopify, _hmac_sha256),
    "stripe": Preset(("stripe-signature",), _read_stripe, _hmac_sha256, timed=True),
    "standard-webhooks": Preset(
        ("webhook-signature", "svix-signature"), _read_standard, _hmac_sha256, _whsec, timed=True
    ),
    "slack": Preset(("x-slack-signature",), _read_slack, _hmac_sha256, timed=True),
}
"""The presets by `config.signature.preset` name, each as its sender documents it."""


def _invalid(message: str) -> RejectedRequest:
    return RejectedRequest(401, "signature_invalid", message)


_DISPLAY = {"x-hub-signature-256": "X-Hub-Signature-256", "x-shopify-hmac-sha256": "X-Shopify-Hmac-Sha256"}


def _display(name: str) -> str:
    """A lower-case header name as senders' documentation writes it."""
    return _DISPLAY.get(name) or "-".join(part.capitalize() for part in name.split("-"))


def _title(preset: Preset) -> str:
    return _display(preset.headers[0])
