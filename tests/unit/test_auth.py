"""Tests for HTTP Basic authentication of webhook requests."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import pytest

from hookline.errors import RejectedRequest
from hookline.trigger.auth import check_basic_auth

SETTING = {"username": "webhook", "password": "s3cret"}


def basic(credentials: str, encoding: str = "utf-8") -> str:
    """An Authorization header value for `user:password` text."""
    return "Basic " + b64encode(credentials.encode(encoding)).decode()


def rejection(authorization: str | None, setting: Any = SETTING) -> RejectedRequest:
    """The RejectedRequest that check_basic_auth raises for this header (fails the test when none)."""
    with pytest.raises(RejectedRequest) as caught:
        check_basic_auth(authorization, setting)
    return caught.value


@pytest.mark.parametrize("setting", [False, None])
def test_auth_off_lets_every_request_in(setting: Any) -> None:
    """With basicAuthentication off, any header or none is accepted."""
    check_basic_auth(None, setting)
    check_basic_auth("Bearer whatever", setting)


def test_right_credentials_pass() -> None:
    """The configured username and password are accepted, where the same pair one character off is not."""
    check_basic_auth(basic("webhook:s3cret"), SETTING)  # a refusal raises RejectedRequest
    # The same check refuses its near misses, so the pass above is a match and not a door left open.
    for near_miss in ("webhook:s3cre", "webhook:s3cret ", "webhoo:s3cret", "Webhook:s3cret"):
        assert rejection(basic(near_miss)).code == "unauthorized", near_miss


def test_scheme_is_case_insensitive_and_padding_optional() -> None:
    """`basic` in any case, and a token without its `=` padding, are accepted."""
    check_basic_auth("basic " + b64encode(b"webhook:s3cret").decode(), SETTING)
    token = b64encode(b"webhook:s3cre").decode()
    assert token.endswith("=")
    check_basic_auth("BASIC " + token.rstrip("="), {"username": "webhook", "password": "s3cre"})


def test_password_may_contain_colons_and_utf8() -> None:
    """Only the first colon separates the username; the password may hold colons and any UTF-8."""
    setting = {"username": "jörg", "password": "pa:ss:wörd✓"}
    check_basic_auth(basic("jörg:pa:ss:wörd✓"), setting)


def test_latin1_credentials_match_the_same_text() -> None:
    """Credentials sent as ISO-8859-1 by older clients match the same configured characters."""
    check_basic_auth(basic("jörg:café", encoding="latin-1"), {"username": "jörg", "password": "café"})


def test_missing_header_is_401_with_challenge() -> None:
    """No Authorization header answers 401 with the Basic challenge."""
    error = rejection(None)
    assert (error.status, error.code) == (401, "unauthorized")
    assert error.headers == {"WWW-Authenticate": 'Basic realm="hookline"'}
    assert "no" in error.message.lower()


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("webhook:s3cret", "malformed scheme"),
        ("Bearer d2ViaG9vazpzM2NyZXQ=", "another scheme"),
        ("Basic not base64!", "bad base64"),
        ("Basic ", "empty token"),
        ("Basic " + b64encode(b"webhooks3cret").decode(), "no colon"),
        ("Basic " + b64encode(b"nobody:s3cret").decode(), "wrong user"),
        ("Basic " + b64encode(b"webhook:wrong").decode(), "wrong password"),
        ("Basic " + b64encode(b"webhook:s3cret ").decode(), "password with a trailing space"),
        ("Basic " + b64encode(b"Webhook:s3cret").decode(), "username in another case"),
    ],
)
def test_bad_credentials_are_401(authorization: str, reason: str) -> None:
    """Malformed or wrong credentials answer 401 with the challenge header."""
    error = rejection(authorization)
    assert (error.status, error.code) == (401, "unauthorized"), reason
    assert error.headers["WWW-Authenticate"] == 'Basic realm="hookline"'


def test_messages_never_reveal_the_secret() -> None:
    """No rejection message contains the configured or the supplied password."""
    for authorization in [None, "Bearer x", "Basic !!", basic("webhook:guess"), basic("x:s3cret")]:
        message = rejection(authorization).message
        assert "s3cret" not in message
        assert "guess" not in message


@pytest.mark.parametrize("setting", [True, {}, {"username": "webhook"}, {"username": 1, "password": 2}, "on"])
def test_unreadable_setting_locks_the_door(setting: Any) -> None:
    """A setting that is on but not a username and password rejects every request."""
    error = rejection(basic("webhook:s3cret"), setting)
    assert error.status == 401
