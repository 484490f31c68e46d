"""HTTP Basic authentication of webhook requests, compared in constant time."""

from __future__ import annotations

import binascii
import hmac
from base64 import b64decode
from collections.abc import Mapping
from typing import Any

from hookline.errors import RejectedRequest

CHALLENGE = {"WWW-Authenticate": 'Basic realm="hookline"'}
"""The header every 401 carries, so that clients know to send Basic credentials."""


def check_basic_auth(authorization: str | None, setting: Any) -> None:
    """Raise a 401 RejectedRequest unless the Authorization header matches `basicAuthentication`."""
    expected = _expected_credentials(setting)
    if expected is None:
        return
    username, password = _supplied_credentials(authorization)
    # Both comparisons always run, so the timing does not tell which of the two was wrong.
    username_matches = hmac.compare_digest(username, expected[0])
    password_matches = hmac.compare_digest(password, expected[1])
    if not (username_matches & password_matches):
        raise unauthorized("The username or password in the Authorization header is not correct.")


def unauthorized(message: str) -> RejectedRequest:
    """A 401 with the Basic challenge header."""
    return RejectedRequest(401, "unauthorized", message, headers=CHALLENGE)


def _expected_credentials(setting: Any) -> tuple[bytes, bytes] | None:
    """The configured username and password as UTF-8 bytes, or None when authentication is off."""
    if setting is None or setting is False:
        return None
    username = setting.get("username") if isinstance(setting, Mapping) else None
    password = setting.get("password") if isinstance(setting, Mapping) else None
    if not isinstance(username, str) or not isinstance(password, str):
        # A setting that is on but unreadable must lock the door, not leave it open.
        raise unauthorized("Basic authentication is switched on for this webhook but not set up correctly.")
    return username.encode(), password.encode()


def _supplied_credentials(authorization: str | None) -> tuple[bytes, bytes]:
    """The username and password of a Basic Authorization header, re-encoded as UTF-8 bytes."""
    if not authorization:
        raise unauthorized("This webhook requires HTTP Basic authentication; the request has none.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise unauthorized("This webhook requires HTTP Basic authentication, not another scheme.")
    pair = _decode_token(token.strip())
    if pair is None or ":" not in pair:
        raise unauthorized("The Authorization header does not hold base64 of “username:password”.")
    username, _, password = pair.partition(":")
    return username.encode(), password.encode()


def _decode_token(token: str) -> str | None:
    """The text inside a Basic token, or None when it is not base64."""
    try:
        # Some clients drop the trailing padding; adding it back costs nothing and accepts them.
        raw = b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # RFC 7617 leaves the charset open; older clients send ISO-8859-1.
        return raw.decode("latin-1")
