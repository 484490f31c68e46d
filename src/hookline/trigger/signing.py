"""Signing a test request as its sender would, so that the UI's test form can send signed requests."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

from hookline.errors import HooklineError, RejectedRequest
from hookline.trigger.signature_claims import Signed, SignedRequest
from hookline.trigger.signatures import signature_check

_QUERY_SAFE = "!$&()*+,;=:@/?[]%-._~"
"""What a query string keeps as it is: the characters browsers and HTTP clients send unchanged.

The rest (spaces, `#`, `'`, quotes, non-ASCII text as UTF-8) is percent-encoded, as the browser
would encode it when sending, so the URL that is signed is the one the webhook receives.
"""
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class CannotSign(HooklineError):
    """A test request cannot be signed for this workflow (no signature set, or a shared token)."""

    status = 422
    exit_code = 2

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sign_request(setting: Any, body: bytes, content_type: str, url: str, now: float) -> Signed:
    """What the sender would send with `body` to `url` at `now`: headers signed with the first secret.

    `setting` is a `config.signature` whose secrets are literal (resolved from the environment).
    GitLab sends its token itself, so there is nothing to show that is not the secret: refused.
    """
    try:
        check = signature_check(setting)
    except RejectedRequest:  # the webhook refuses everything; there is no way to sign for it
        raise CannotSign("signature_broken", "This workflow's signature setting is not valid.") from None
    if check is None:
        raise CannotSign("no_signature", "This workflow checks no signature, so there is nothing to sign.")
    if check.preset.write is None:
        raise CannotSign(
            "cannot_sign",
            f"The {setting['preset']} preset sends the secret itself, not a signature; it is never shown.",
        )
    headers = {"content-type": content_type} if content_type else {}
    request = SignedRequest(headers, body, url)
    return check.preset.write(check.keys[0], request, check.options, math.floor(now))


def with_query(url: str, query: str) -> str:
    """`url` with a test request's `query` string (without `?`) added, encoded as it will be sent."""
    if not query:
        return url
    encoded = quote(_LONE_PERCENT.sub("%25", query), safe=_QUERY_SAFE)
    return f"{url}{'&' if '?' in url else '?'}{encoded}"
