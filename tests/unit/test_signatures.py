"""Tests for signature verification: each preset against signatures made as its sender makes them.

Stripe, Standard Webhooks and Slack requests are signed by the senders' own libraries (`stripe`,
`standardwebhooks`, `slack_sdk`), and those libraries confirm that what hookline accepts they accept.
GitHub, GitLab and Shopify publish no library for this: they are signed by their documented
algorithms, and GitHub's published example is checked as it stands.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier
from standardwebhooks import Webhook, WebhookVerificationError

from hookline.errors import RejectedRequest
from hookline.trigger.signatures import DEFAULT_TOLERANCE, check_signature, signature_problems
from tests.unit._senders import FixedClock, whsec

NOW = 1_767_000_000
BODY = b'{"id": "evt_1", "object": "event", "text": "caf\xc3\xa9"}'

Headers = dict[str, str]


@dataclass(frozen=True)
class Sender:
    """How one sender signs a request, and (where it ships one) its own library's verdict."""

    preset: str
    secrets: tuple[str, str]
    sign: Callable[[str, bytes, int], Headers]
    """(secret, body, timestamp) → the headers the sender sends."""
    timed: bool
    accepts: Callable[[str, bytes, Headers, int], bool] | None = None
    """(secret, body, headers, now) → whether the sender's own library accepts the request."""


def sign_github(secret: str, body: bytes, timestamp: int) -> Headers:
    """GitHub: `sha256=` and the hex HMAC-SHA256 of the body, keyed with the secret."""
    del timestamp
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}"}


def sign_gitlab(secret: str, body: bytes, timestamp: int) -> Headers:
    """GitLab: the secret token itself, sent as it is."""
    del body, timestamp
    return {"x-gitlab-token": secret}


def sign_shopify(secret: str, body: bytes, timestamp: int) -> Headers:
    """Shopify: the base64 HMAC-SHA256 of the body, keyed with the app's client secret."""
    del timestamp
    return {"x-shopify-hmac-sha256": b64encode(hmac.digest(secret.encode(), body, hashlib.sha256)).decode()}


def sign_stripe(secret: str, body: bytes, timestamp: int) -> Headers:
    """Stripe, by its own library's test helper."""
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
    return {"stripe-signature": header}


def stripe_accepts(secret: str, body: bytes, headers: Headers, now: int) -> bool:
    """Stripe's own check (it looks at the real clock, so it is asked about requests signed now)."""
    del now
    try:
        stripe.Webhook.construct_event(body, headers.get("stripe-signature"), secret)
    except stripe.SignatureVerificationError:
        return False
    return True


def sign_standard(secret: str, body: bytes, timestamp: int) -> Headers:
    """Standard Webhooks, by its reference library."""
    signature = Webhook(secret).sign("msg_2ZEAp9Yd", datetime.fromtimestamp(timestamp, UTC), body.decode())
    return {"webhook-id": "msg_2ZEAp9Yd", "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def standard_accepts(secret: str, body: bytes, headers: Headers, now: int) -> bool:
    """The reference library's check (on the real clock)."""
    del now
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def sign_slack(secret: str, body: bytes, timestamp: int) -> Headers:
    """Slack, by the signature generator of `slack_sdk`."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    return {"x-slack-signature": signature, "x-slack-request-timestamp": str(timestamp)}


def slack_accepts(secret: str, body: bytes, headers: Headers, now: int) -> bool:
    """slack_sdk's own check, at the same `now` as hookline's."""
    return SignatureVerifier(secret, clock=FixedClock(now)).is_valid_request(body, headers)


SENDERS = [
    Sender("github", ("It's a Secret to Everybody", "rotated-in secret"), sign_github, timed=False),
    Sender("gitlab", ("gl-token-one", "gl-token-two"), sign_gitlab, timed=False),
    Sender("shopify", ("shpss_first", "shpss_second"), sign_shopify, timed=False),
    Sender("stripe", ("whsec_stripe_one", "whsec_stripe_two"), sign_stripe, True, stripe_accepts),
    Sender(
        "standard-webhooks",
        (whsec(b"first key of 24 bytes..."), whsec(b"second key, also random!")),
        sign_standard,
        True,
        standard_accepts,
    ),
    Sender("slack", ("8f742231b10e8888abcd99yyyzzz85a5", "slack-second"), sign_slack, True, slack_accepts),
]
TIMED = [sender for sender in SENDERS if sender.timed]
LIBRARIES = [sender for sender in SENDERS if sender.accepts is not None]


def by_preset(senders: list[Sender]) -> Any:
    """Parametrize a test over senders, named by preset."""
    return pytest.mark.parametrize("sender", senders, ids=[sender.preset for sender in senders])


def setting(sender: Sender, *secrets: str, **extra: Any) -> dict[str, Any]:
    """The `config.signature` of a sender, with the given secrets (its first one by default)."""
    return {"preset": sender.preset, "secrets": list(secrets or sender.secrets[:1]), **extra}


def rejection(config: Any, headers: Headers, body: bytes = BODY, now: float = NOW) -> RejectedRequest:
    """The 401 that check_signature raises (fails the test when it raises none)."""
    with pytest.raises(RejectedRequest) as caught:
        check_signature(config, headers, body, now)
    assert caught.value.status == 401
    return caught.value


@by_preset(SENDERS)
def test_a_signed_request_passes(sender: Sender) -> None:
    """A request signed with the configured secret is accepted."""
    check_signature(setting(sender), sender.sign(sender.secrets[0], BODY, NOW), BODY, NOW)


@by_preset(LIBRARIES)
def test_the_senders_library_agrees_on_what_passes(sender: Sender) -> None:
    """A request hookline accepts, its sender's own verifying library accepts too (and a tampered one not)."""
    assert sender.accepts is not None
    now = int(time.time())
    secret = sender.secrets[0]
    headers = sender.sign(secret, BODY, now)
    check_signature(setting(sender), headers, BODY, now)
    assert sender.accepts(secret, BODY, headers, now)
    assert not sender.accepts(secret, BODY + b" ", headers, now)


def test_githubs_published_example_passes() -> None:
    """GitHub's documented example (secret, "Hello, World!", its signature) is accepted as published."""
    headers = {
        "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }
    check_signature(
        {"preset": "github", "secrets": ["It's a Secret to Everybody"]}, headers, b"Hello, World!", 0
    )


@by_preset(SENDERS)
def test_a_tampered_body_is_invalid(sender: Sender) -> None:
    """A body changed after signing is refused as signature_invalid (a GitLab token covers no body)."""
    headers = sender.sign(sender.secrets[0], BODY, NOW)
    if sender.preset == "gitlab":
        check_signature(setting(sender), headers, BODY + b"!", NOW)
        return
    assert rejection(setting(sender), headers, BODY.replace(b"evt_1", b"evt_2")).code == "signature_invalid"


@by_preset(SENDERS)
def test_a_wrong_secret_is_invalid(sender: Sender) -> None:
    """A request signed with another secret is refused as signature_invalid."""
    headers = sender.sign(sender.secrets[1], BODY, NOW)
    assert rejection(setting(sender), headers).code == "signature_invalid"


@by_preset(SENDERS)
def test_each_missing_header_is_signature_missing(sender: Sender) -> None:
    """Without any one of the headers the sender signs with, the request is refused as signature_missing."""
    headers = sender.sign(sender.secrets[0], BODY, NOW)
    for name in headers:
        without = {key: value for key, value in headers.items() if key != name}
        assert rejection(setting(sender), without).code == "signature_missing", name
    assert rejection(setting(sender), {name: "" for name in headers}).code == "signature_missing"


@by_preset(SENDERS)
def test_the_second_of_two_secrets_matches(sender: Sender) -> None:
    """While rotating keys, a request signed with either configured secret passes."""
    config = setting(sender, *sender.secrets)
    for secret in sender.secrets:
        check_signature(config, sender.sign(secret, BODY, NOW), BODY, NOW)


@by_preset(TIMED)
def test_the_window_includes_its_edges(sender: Sender) -> None:
    """A timestamp exactly the tolerance before or after now passes."""
    headers = sender.sign(sender.secrets[0], BODY, NOW)
    check_signature(setting(sender), headers, BODY, NOW + DEFAULT_TOLERANCE)
    check_signature(setting(sender), headers, BODY, NOW - DEFAULT_TOLERANCE)


@by_preset(TIMED)
def test_one_second_past_the_window_is_expired(sender: Sender) -> None:
    """A request signed the tolerance plus one second ago is refused as signature_expired."""
    headers = sender.sign(sender.secrets[0], BODY, NOW)
    assert rejection(setting(sender), headers, now=NOW + DEFAULT_TOLERANCE + 1).code == "signature_expired"


@by_preset(TIMED)
def test_a_timestamp_too_far_in_the_future_is_expired(sender: Sender) -> None:
    """A request dated more than the tolerance ahead of now is refused as signature_expired."""
    headers = sender.sign(sender.secrets[0], BODY, NOW + DEFAULT_TOLERANCE + 1)
    assert rejection(setting(sender), headers).code == "signature_expired"


@by_preset([sender for sender in TIMED if sender.preset == "slack"])
def test_slack_sdk_draws_the_window_where_hookline_does(sender: Sender) -> None:
    """At the window's edges slack_sdk (which takes a clock) gives the same verdicts as hookline."""
    assert sender.accepts is not None
    secret = sender.secrets[0]
    headers = sender.sign(secret, BODY, NOW)
    assert sender.accepts(secret, BODY, headers, NOW + DEFAULT_TOLERANCE)
    assert not sender.accepts(secret, BODY, headers, NOW + DEFAULT_TOLERANCE + 1)


@by_preset(TIMED)
def test_the_tolerance_is_configurable(sender: Sender) -> None:
    """A configured tolerance replaces the default of 300 seconds."""
    headers = sender.sign(sender.secrets[0], BODY, NOW)
    check_signature(setting(sender, tolerance=600), headers, BODY, NOW + 600)
    assert rejection(setting(sender, tolerance=60), headers, now=NOW + 61).code == "signature_expired"


@by_preset(TIMED)
def test_a_forged_old_request_is_invalid_not_expired(sender: Sender) -> None:
    """A request that is both out of the window and wrongly signed is reported as invalid."""
    headers = sender.sign(sender.secrets[1], BODY, NOW)
    assert rejection(setting(sender), headers, now=NOW + 10_000).code == "signature_invalid"


@by_preset(SENDERS)
def test_messages_never_show_the_secret_or_the_signature(sender: Sender) -> None:
    """No refusal's message holds the configured secret or any received header value."""
    good = sender.sign(sender.secrets[0], BODY, NOW)
    cases = [
        (sender.sign(sender.secrets[1], BODY, NOW), NOW),
        ({name: "garbage" + value for name, value in good.items()}, NOW),
    ]
    if sender.timed:
        cases.append((good, NOW + 10_000))
    for headers, now in cases:
        message = rejection(setting(sender), headers, now=now).message
        assert sender.secrets[0] not in message
        assert all(value not in message for value in headers.values())


@by_preset(SENDERS)
def test_a_malformed_signature_is_invalid(sender: Sender) -> None:
    """A signature header that is not in the sender's format is refused as signature_invalid."""
    headers = {name: f"{value}\u00e9zz" for name, value in sender.sign(sender.secrets[0], BODY, NOW).items()}
    assert rejection(setting(sender), headers).code == "signature_invalid"


def test_stripe_accepts_any_of_several_v1_signatures() -> None:
    """A Stripe-Signature with several v1 entries (Stripe's own rotation) passes when one matches."""
    signed = sign_stripe("whsec_stripe_one", BODY, NOW)["stripe-signature"]
    timestamp, signature = signed.split(",")
    header = f"{timestamp},v1={'0' * 64},{signature},v0={'1' * 64}"
    check_signature(
        {"preset": "stripe", "secrets": ["whsec_stripe_one"]}, {"stripe-signature": header}, BODY, NOW
    )


def test_stripe_ignores_v0_signatures() -> None:
    """A Stripe-Signature whose only match is a v0 (test-mode scheme) entry is invalid."""
    signed = sign_stripe("whsec_stripe_one", BODY, NOW)["stripe-signature"].replace("v1=", "v0=")
    config = {"preset": "stripe", "secrets": ["whsec_stripe_one"]}
    assert rejection(config, {"stripe-signature": signed}).code == "signature_invalid"


def test_standard_webhooks_accepts_any_of_several_signatures() -> None:
    """A webhook-signature with several space-separated entries passes when one v1 entry matches."""
    secret = whsec(b"first key of 24 bytes...")
    headers = sign_standard(secret, BODY, NOW)
    other = sign_standard(whsec(b"someone else's key......"), BODY, NOW)["webhook-signature"]
    headers["webhook-signature"] = f"v1a,AAAA {other} {headers['webhook-signature']}"
    check_signature({"preset": "standard-webhooks", "secrets": [secret]}, headers, BODY, NOW)


def test_standard_webhooks_reads_svix_headers() -> None:
    """Svix's own header names (`svix-id`, `svix-timestamp`, `svix-signature`) are read the same way."""
    secret = whsec(b"first key of 24 bytes...")
    headers = {
        name.replace("webhook-", "svix-"): value for name, value in sign_standard(secret, BODY, NOW).items()
    }
    check_signature({"preset": "standard-webhooks", "secrets": [secret]}, headers, BODY, NOW)


def test_a_non_numeric_timestamp_is_invalid() -> None:
    """A timestamp header that is not whole Unix seconds is refused as signature_invalid."""
    headers = sign_slack("slack-secret", BODY, NOW)
    headers["x-slack-request-timestamp"] = "1e9"
    assert rejection({"preset": "slack", "secrets": ["slack-secret"]}, headers).code == "signature_invalid"


@given(st.data())
def test_any_flipped_body_byte_is_refused(data: st.DataObject) -> None:
    """GitHub-signed bodies: changing any bit of any byte makes the signature invalid."""
    body = data.draw(st.binary(min_size=1, max_size=200), label="body")
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    bit = data.draw(st.integers(0, 7), label="bit")
    headers = sign_github("It's a Secret to Everybody", body, 0)
    config = {"preset": "github", "secrets": ["It's a Secret to Everybody"]}
    check_signature(config, headers, body, 0)
    flipped = body[:index] + bytes([body[index] ^ (1 << bit)]) + body[index + 1 :]
    assert rejection(config, headers, flipped, 0).code == "signature_invalid"


@pytest.mark.parametrize("off", [None, False])
def test_no_setting_checks_nothing(off: Any) -> None:
    """With no `config.signature`, an unsigned request passes."""
    check_signature(off, {}, BODY, NOW)


@pytest.mark.parametrize(
    "broken",
    [
        {"preset": "github"},
        {"preset": "nope", "secrets": ["s"]},
        "github",
        {"preset": "github", "secrets": [""]},
    ],
)
def test_a_broken_setting_refuses_every_request(broken: Any) -> None:
    """A setting that is on but unreadable locks the door instead of letting requests in."""
    headers = sign_github("s", BODY, NOW)
    assert rejection(broken, headers).code == "signature_invalid"


def test_a_valid_setting_has_no_problems() -> None:
    """Every built preset with good secrets (and a tolerance where it applies) validates."""
    for sender in SENDERS:
        extra = {"tolerance": 120} if sender.timed else {}
        assert signature_problems(setting(sender, *sender.secrets, **extra)) == []
    assert signature_problems(None) == []


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ([], "config.signature"),
        ({"preset": "twillio", "secrets": ["s"]}, "config.signature.preset"),
        ({"secrets": ["s"]}, "config.signature.preset"),
        ({"preset": "github"}, "config.signature.secrets"),
        ({"preset": "github", "secrets": []}, "config.signature.secrets"),
        ({"preset": "github", "secrets": "s"}, "config.signature.secrets"),
        ({"preset": "github", "secrets": ["s", ""]}, "config.signature.secrets[1]"),
        ({"preset": "github", "secrets": ["s", 5]}, "config.signature.secrets[1]"),
        ({"preset": "standard-webhooks", "secrets": ["whsec_not base64!"]}, "config.signature.secrets[0]"),
        ({"preset": "standard-webhooks", "secrets": ["whsec_"]}, "config.signature.secrets[0]"),
        ({"preset": "stripe", "secrets": ["s"], "tolerance": 0}, "config.signature.tolerance"),
        ({"preset": "stripe", "secrets": ["s"], "tolerance": -5}, "config.signature.tolerance"),
        ({"preset": "stripe", "secrets": ["s"], "tolerance": True}, "config.signature.tolerance"),
        ({"preset": "stripe", "secrets": ["s"], "tolerance": "300"}, "config.signature.tolerance"),
        ({"preset": "stripe", "secrets": ["s"], "tolerance": float("inf")}, "config.signature.tolerance"),
        ({"preset": "github", "secrets": ["s"], "tolerance": 300}, "config.signature.tolerance"),
        ({"preset": "github", "secrets": ["s"], "header": "x"}, "config.signature.header"),
    ],
)
def test_a_bad_setting_is_a_problem_where_it_is(config: Any, where: str) -> None:
    """Each mistake in `config.signature` is reported at its own path."""
    assert [problem.where for problem in signature_problems(config)] == [where]
