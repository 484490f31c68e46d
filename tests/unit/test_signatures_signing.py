"""Tests for signing test requests: what `sign_request` writes, hookline and the senders' libraries accept."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import stripe
from slack_sdk.signature import SignatureVerifier
from standardwebhooks import Webhook
from twilio.request_validator import RequestValidator

from hookline.errors import RejectedRequest
from hookline.trigger.signatures import check_signature
from hookline.trigger.signing import CannotSign, sign_request, with_query
from tests.unit._senders import FixedClock, whsec

NOW = 1_767_000_000
URL = "http://127.0.0.1:8000/api/webhook:trigger/abc"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
BODY = b'{"order": {"id": 42, "status": "paid"}}'

SETTINGS: dict[str, dict[str, Any]] = {
    "github": {"preset": "github", "secrets": ["gh-secret", "gh-older"]},
    "shopify": {"preset": "shopify", "secrets": ["shpss_secret"]},
    "stripe": {"preset": "stripe", "secrets": ["whsec_stripe"]},
    "slack": {"preset": "slack", "secrets": ["slack-signing-secret"]},
    "standard-webhooks": {"preset": "standard-webhooks", "secrets": [whsec(b"a key of twenty-four b..")]},
    "twilio": {"preset": "twilio", "secrets": ["twilio-auth-token"]},
    "hmac": {
        "preset": "hmac",
        "secrets": ["hmac-secret"],
        "header": "X-Signature",
        "prefix": "sha512=",
        "algorithm": "sha512",
        "encoding": "base64",
        "content": "{id}.{timestamp}.{url}.{headers.content-type}.{body}",
        "timestampHeader": "X-Timestamp",
        "idHeader": "X-Message-Id",
    },
}


def lower(headers: dict[str, str]) -> dict[str, str]:
    """Headers as the webhook route hands them over: lower-case names."""
    return {name.lower(): value for name, value in headers.items()}


@pytest.mark.parametrize("preset", list(SETTINGS))
@pytest.mark.parametrize(("content_type", "body"), [(JSON, BODY), (FORM, b"order%5Bid%5D=42&note=caf%C3%A9")])
def test_a_signed_test_request_passes_the_check(preset: str, content_type: str, body: bytes) -> None:
    """What sign_request writes for any preset (but gitlab) passes hookline's own check of that preset."""
    signed = sign_request(SETTINGS[preset], body, content_type, URL, NOW)
    headers = {**lower(signed.headers), "content-type": content_type}
    check_signature(SETTINGS[preset], headers, body, NOW, url=signed.url)
    with pytest.raises(RejectedRequest) as caught:
        check_signature(SETTINGS[preset], headers, body + b"&x=1", NOW, url=signed.url)
    assert caught.value.code == "signature_invalid"


@pytest.mark.parametrize("preset", list(SETTINGS))
def test_no_answer_holds_a_secret(preset: str) -> None:
    """Neither the headers nor the URL written hold any configured secret."""
    signed = sign_request(SETTINGS[preset], BODY, JSON, URL, NOW)
    written = " ".join([signed.url, *signed.headers, *signed.headers.values()])
    assert all(secret not in written for secret in SETTINGS[preset]["secrets"])


def test_github_signs_its_published_example() -> None:
    """GitHub's documented example signs to the signature GitHub publishes."""
    config = {"preset": "github", "secrets": ["It's a Secret to Everybody"]}
    signed = sign_request(config, b"Hello, World!", "text/plain", URL, NOW)
    assert signed.headers == {
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }
    assert signed.url == URL


def test_stripes_library_accepts_the_signature() -> None:
    """Stripe's own library accepts a request signed now (it reads the real clock)."""
    signed = sign_request(SETTINGS["stripe"], BODY, JSON, URL, time.time())
    stripe.Webhook.construct_event(BODY, signed.headers["Stripe-Signature"], "whsec_stripe")


def test_the_standard_webhooks_library_accepts_the_signature() -> None:
    """The Standard Webhooks reference library accepts the headers, with a fresh message id."""
    secret = SETTINGS["standard-webhooks"]["secrets"][0]
    signed = sign_request(SETTINGS["standard-webhooks"], BODY, JSON, URL, time.time())
    Webhook(secret).verify(BODY, signed.headers, json_parse=False)
    again = sign_request(SETTINGS["standard-webhooks"], BODY, JSON, URL, time.time())
    assert again.headers["webhook-id"] != signed.headers["webhook-id"]


def test_slack_sdk_accepts_the_signature() -> None:
    """slack_sdk's verifier, at the same time, accepts the headers."""
    signed = sign_request(SETTINGS["slack"], BODY, JSON, URL, NOW)
    verifier = SignatureVerifier("slack-signing-secret", clock=FixedClock(NOW))
    assert verifier.is_valid_request(BODY, lower(signed.headers))


def test_twilios_validator_accepts_a_signed_form() -> None:
    """Twilio's RequestValidator accepts a form signed for the URL, which is left as it was."""
    params = {"CallSid": "CA1", "Body": "café", "From": "+4917"}
    signed = sign_request(SETTINGS["twilio"], urlencode(params).encode(), FORM, URL, NOW)
    assert signed.url == URL
    validator = RequestValidator("twilio-auth-token")
    assert validator.validate(URL, params, signed.headers["X-Twilio-Signature"])


def test_twilio_puts_a_json_bodys_hash_in_the_url() -> None:
    """For a JSON body the URL gains `bodySHA256`, and Twilio's RequestValidator accepts the result."""
    signed = sign_request(SETTINGS["twilio"], BODY, JSON, URL + "?x=1", NOW)
    assert parse_qs(signed.url.partition("?")[2])["x"] == ["1"]
    validator = RequestValidator("twilio-auth-token")
    assert validator.validate(signed.url, BODY.decode(), signed.headers["X-Twilio-Signature"])


def test_the_first_secret_signs() -> None:
    """While rotating keys, the first secret of the list is the one that signs."""
    signed = sign_request(SETTINGS["github"], BODY, JSON, URL, NOW)
    only_first = {"preset": "github", "secrets": ["gh-secret"]}
    check_signature(only_first, lower(signed.headers), BODY, NOW)


def test_gitlab_is_refused_without_showing_its_token() -> None:
    """GitLab sends its token itself: signing is refused (422) and the message holds no token."""
    with pytest.raises(CannotSign) as caught:
        sign_request({"preset": "gitlab", "secrets": ["gl-token"]}, BODY, JSON, URL, NOW)
    assert (caught.value.status, caught.value.code) == (422, "cannot_sign")
    assert "gl-token" not in caught.value.message


@pytest.mark.parametrize(
    ("setting", "code"),
    [
        (None, "no_signature"),
        (False, "no_signature"),
        ({"preset": "nope", "secrets": ["s"]}, "signature_broken"),
        ({"preset": "hmac", "secrets": ["s"]}, "signature_broken"),
    ],
)
def test_nothing_to_sign_is_a_422(setting: Any, code: str) -> None:
    """No signature setting, or one that is not valid, cannot be signed for: 422 with a code."""
    with pytest.raises(CannotSign) as caught:
        sign_request(setting, BODY, JSON, URL, NOW)
    assert (caught.value.status, caught.value.code) == (422, code)


def test_timestamps_are_whole_seconds_of_now() -> None:
    """A timed preset writes now, in whole Unix seconds."""
    now = datetime(2026, 12, 3, 12, 0, 0, 750_000, tzinfo=UTC).timestamp()
    signed = sign_request(SETTINGS["slack"], BODY, JSON, URL, now)
    assert signed.headers["X-Slack-Request-Timestamp"] == str(int(now))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", URL),
        ("source=shop&order[id]=42", URL + "?source=shop&order[id]=42"),
        ("note=caf%C3%A9", URL + "?note=caf%C3%A9"),
        ("note=café au lait", URL + "?note=caf%C3%A9%20au%20lait"),
        ("a='1'&b=\"2\"#x", URL + "?a=%271%27&b=%222%22%23x"),
        ("p=100%&q=%zz", URL + "?p=100%25&q=%25zz"),
    ],
)
def test_a_query_is_added_encoded_as_it_will_be_sent(query: str, expected: str) -> None:
    """What a browser or HTTP client would percent-encode is encoded first: the signed URL is the one sent."""
    assert with_query(URL, query) == expected


def test_a_query_joins_a_url_that_has_one() -> None:
    """A URL that already holds a query string gets the new one after `&`."""
    assert with_query(URL + "?x=1", "y=2") == URL + "?x=1&y=2"


def test_twilios_validator_accepts_a_form_sent_with_a_query() -> None:
    """A form signed for a URL with a query string: Twilio's RequestValidator accepts it for that URL."""
    params = {"CallSid": "CA1", "Body": "café"}
    url = with_query(URL, "source=shop&note=caf%C3%A9")
    signed = sign_request(SETTINGS["twilio"], urlencode(params).encode(), FORM, url, NOW)
    assert signed.url == url
    validator = RequestValidator("twilio-auth-token")
    assert validator.validate(url, params, signed.headers["X-Twilio-Signature"])
    assert not validator.validate(URL, params, signed.headers["X-Twilio-Signature"])
