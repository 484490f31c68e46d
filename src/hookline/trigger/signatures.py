"""Signature verification of webhook requests over their exact raw bytes, one preset per sender.

Every preset (`signature_presets.PRESETS`) reads what the request claims (its signatures, the bytes
they cover, when they were made) and the same code checks the claim: any configured secret may match
(key rotation), every comparison is constant-time, and a signed timestamp must lie within the
tolerance either side of now. The signature is checked before the timestamp, so `signature_expired`
always means "authentic but too old or too new" (a replay or a wrong clock), never "forged".
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookline.errors import Problem, RejectedRequest, unknown_fields
from hookline.trigger.secrets import env_reference
from hookline.trigger.signature_claims import WHERE, Options, Preset, SignedRequest, display, invalid
from hookline.trigger.signature_presets import PRESETS

DEFAULT_TOLERANCE = 300
"""Seconds a signed timestamp may be off from now, as Stripe, Slack and Standard Webhooks document."""

_FIELDS = ("preset", "secrets", "tolerance")

__all__ = [
    "DEFAULT_TOLERANCE",
    "PRESETS",
    "SignatureCheck",
    "SignedRequest",
    "check_signature",
    "signature_check",
    "signature_problems",
]


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """A validated `config.signature`: a preset, its keys and a tolerance, ready for every request."""

    preset: Preset
    keys: tuple[bytes, ...]
    tolerance: float
    options: Options

    def verify(self, request: SignedRequest, now: float) -> None:
        """Raise a 401 RejectedRequest unless the request is signed with one of the keys, in time."""
        claim = self.preset.read(request, self.options)
        # Every pair is compared, so the time taken does not tell which secret or signature matched.
        matched = False
        for key in self.keys:
            for content in claim.contents:
                mine = key if claim.digest is None else hmac.digest(key, content, claim.digest)
                for theirs in claim.signatures:
                    matched |= hmac.compare_digest(mine, theirs)
        if not matched:
            message = f"The {self.header} header does not hold a valid signature of this request."
            raise invalid(f"{message} {self.preset.hint}".rstrip())
        if claim.timestamp is not None and abs(now - claim.timestamp) > self.tolerance:
            raise RejectedRequest(
                401,
                "signature_expired",
                f"The request was signed more than {self.tolerance:g} seconds away from now.",
            )

    @property
    def header(self) -> str:
        """The signature header's name as people write it."""
        configured = self.options.get("header")
        return configured if isinstance(configured, str) else display(self.preset.headers[0])


def check_signature(
    setting: Any, headers: Mapping[str, str], raw: bytes, now: float, *, url: str = ""
) -> None:
    """Raise a 401 RejectedRequest unless the request's signature matches `config.signature`.

    `headers` maps lower-case names to their first value; `raw` is the body exactly as received;
    `url` is the URL the request was made to with its query string (Twilio and `{url}` sign it);
    `now` is the Unix time. Nothing is checked when `setting` is null or false.
    """
    check = signature_check(setting)
    if check is not None:
        check.verify(SignedRequest(headers, raw, url), now)


def signature_check(setting: Any) -> SignatureCheck | None:
    """The check a `config.signature` asks for, None when it is off; a broken one locks the door (401).

    Its secrets must be literal by now: `{{$env.NAME}}` references are resolved before this is called.
    """
    if setting is None or setting is False:
        return None
    if signature_problems(setting):
        # A setting that is on but unreadable must refuse every request, not let them all in.
        raise invalid("Signature verification is switched on for this webhook but not set up correctly.")
    preset = PRESETS[setting["preset"]]
    keys = tuple(key for secret in setting["secrets"] if (key := _key(preset, secret)) is not None)
    if not keys:
        raise invalid("Signature verification is switched on for this webhook but has no secret to check.")
    return SignatureCheck(preset, keys, setting.get("tolerance", DEFAULT_TOLERANCE), setting)


def _key(preset: Preset, secret: str) -> bytes | None:
    # An unresolved reference is no key: its text is in the config, so anyone could sign with it.
    return None if env_reference(secret) is not None else preset.key(secret)


def signature_problems(setting: Any) -> list[Problem]:
    """The problems with a `config.signature`, each at `config.signature.<field>`; empty when valid."""
    if setting is None or setting is False:
        return []
    if not isinstance(setting, dict):
        return [Problem(WHERE, 'must be an object like {"preset": "github", "secrets": ["..."]}, or null')]
    name = setting.get("preset")
    preset = PRESETS.get(name) if isinstance(name, str) else None
    problems = unknown_fields(setting, _FIELDS + (preset.fields if preset else ()), WHERE)
    if preset is None:
        known = ", ".join(PRESETS)
        problems.append(Problem(f"{WHERE}.preset", f"must be one of: {known}"))
    problems += _secrets_problems(setting.get("secrets"), preset)
    if "tolerance" in setting:
        problems += _tolerance_problems(setting["tolerance"], preset, name)
    if preset is not None:
        problems += preset.problems(setting)
    return problems


def _secrets_problems(secrets: Any, preset: Preset | None) -> list[Problem]:
    where = f"{WHERE}.secrets"
    if not isinstance(secrets, list) or not secrets:
        return [Problem(where, "must be a non-empty list of secrets (several while rotating keys)")]
    problems = []
    for index, secret in enumerate(secrets):
        if not isinstance(secret, str) or not secret:
            problems.append(Problem(f"{where}[{index}]", "must be a non-empty string"))
        elif env_reference(secret) is not None:
            continue  # its value is checked when it is read from the environment
        elif preset is not None and preset.key(secret) is None:
            problems.append(Problem(f"{where}[{index}]", "must be base64, as given by the sender (whsec_…)"))
    return problems


def _tolerance_problems(tolerance: Any, preset: Preset | None, name: Any) -> list[Problem]:
    where = f"{WHERE}.tolerance"
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        return [Problem(where, "must be a number of seconds")]
    if not math.isfinite(tolerance) or tolerance <= 0:
        return [Problem(where, "must be a positive number of seconds")]
    if preset is not None and not preset.timed:
        # Saying so beats silently ignoring it: the user may believe replays are refused.
        return [Problem(where, f"{name} requests carry no timestamp, so there is no tolerance to set")]
    return []
