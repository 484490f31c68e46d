"""Tests for the generic `hmac` scheme: requests signed here with Python's `hmac`, as a sender would.

The signer below is written from the documented scheme only (it shares no code with hookline's):
the header holds `prefix` then the hex or base64 HMAC of the content template filled in.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import b64encode
from typing import Any

import pytest

from hookline.errors import RejectedRequest
from hookline.trigger.signatures import DEFAULT_TOLERANCE, check_signature, signature_problems

SECRET = "hmac-secret-one"
OTHER = "hmac-secret-two"
NOW = 1_767_000_000
BODY = b'{"event": "invoice.paid", "amount": 4200}'
URL = "https://hooks.example.com/api/webhook:trigger/abc?tenant=7"


def setting(*secrets: str, **fields: Any) -> dict[str, Any]:
    """An hmac `config.signature` reading `X-Signature`, with these secrets (SECRET by default)."""
    return {"preset": "hmac", "secrets": list(secrets or (SECRET,)), "header": "X-Signature", **fields}


def sign(content: bytes, secret: str = SECRET, algorithm: str = "sha256", encoding: str = "hex") -> str:
    """The encoded HMAC of `content`."""
    digest = hmac.new(secret.encode(), content, getattr(hashlib, algorithm)).digest()
    return digest.hex() if encoding == "hex" else b64encode(digest).decode()


def refusal(config: Any, headers: dict[str, str], body: bytes = BODY, now: float = NOW) -> str:
    """The code of the 401 the request gets (fails the test when it passes)."""
    with pytest.raises(RejectedRequest) as caught:
        check_signature(config, headers, body, now, url=URL)
    assert caught.value.status == 401
    assert SECRET not in caught.value.message
    return caught.value.code


def check(config: Any, headers: dict[str, str], body: bytes = BODY, now: float = NOW) -> None:
    """Check the request against `config` (raises when refused)."""
    check_signature(config, headers, body, now, url=URL)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_each_algorithm_and_encoding_passes_and_a_tampered_body_does_not(
    algorithm: str, encoding: str
) -> None:
    """Signed with the configured algorithm and encoding: passes; with the body changed: invalid."""
    config = setting(algorithm=algorithm, encoding=encoding)
    headers = {"x-signature": sign(BODY, algorithm=algorithm, encoding=encoding)}
    check(config, headers)
    assert refusal(config, headers, BODY.replace(b"4200", b"4201")) == "signature_invalid"


def test_the_default_is_hex_sha256_of_the_body() -> None:
    """Without algorithm, encoding and content, the header is the hex HMAC-SHA256 of the body."""
    check(setting(), {"x-signature": hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()})


def test_another_algorithm_or_encoding_is_invalid() -> None:
    """A signature made with SHA-1 where SHA-256 is configured, or base64 where hex is, is refused."""
    assert refusal(setting(), {"x-signature": sign(BODY, algorithm="sha1")}) == "signature_invalid"
    assert refusal(setting(), {"x-signature": sign(BODY, encoding="base64")}) == "signature_invalid"


def test_a_wrong_secret_is_invalid_and_either_rotated_secret_passes() -> None:
    """Signed with another secret: refused; with both configured, either passes."""
    assert refusal(setting(), {"x-signature": sign(BODY, OTHER)}) == "signature_invalid"
    for secret in (SECRET, OTHER):
        check(setting(SECRET, OTHER), {"x-signature": sign(BODY, secret)})


def test_the_prefix_must_come_before_the_signature() -> None:
    """With `prefix: "sha256="` the header must be `sha256=<hex>`; the bare signature is invalid."""
    config = setting(prefix="sha256=")
    check(config, {"x-signature": "sha256=" + sign(BODY)})
    assert refusal(config, {"x-signature": sign(BODY)}) == "signature_invalid"


def test_a_missing_signature_header_is_signature_missing() -> None:
    """Without the configured header, the request is refused as signature_missing."""
    assert refusal(setting(), {}) == "signature_missing"


def timed(**fields: Any) -> dict[str, Any]:
    """A setting that signs `<timestamp>.<body>` with the timestamp in `X-Timestamp`."""
    return setting(content="{timestamp}.{body}", timestampHeader="X-Timestamp", **fields)


def timed_headers(timestamp: int, body: bytes = BODY) -> dict[str, str]:
    """The headers of a request signed at `timestamp`."""
    return {"x-timestamp": str(timestamp), "x-signature": sign(f"{timestamp}.".encode() + body)}


def test_a_timestamp_header_is_signed_and_checked_to_the_edge_of_the_window() -> None:
    """A timestamp exactly `tolerance` away either way passes; one second more is signature_expired."""
    headers = timed_headers(NOW)
    for now in (NOW, NOW + DEFAULT_TOLERANCE, NOW - DEFAULT_TOLERANCE):
        check(timed(), headers, now=now)
    assert refusal(timed(), headers, now=NOW + DEFAULT_TOLERANCE + 1) == "signature_expired"
    assert refusal(timed(), headers, now=NOW - DEFAULT_TOLERANCE - 1) == "signature_expired"


def test_the_tolerance_is_configurable() -> None:
    """`tolerance` replaces the 300 seconds of the default window."""
    headers = timed_headers(NOW)
    check(timed(tolerance=600), headers, now=NOW + 600)
    assert refusal(timed(tolerance=60), headers, now=NOW + 61) == "signature_expired"


def test_a_timestamp_changed_after_signing_is_invalid() -> None:
    """Moving the timestamp header (to replay a request later) breaks the signature."""
    headers = {**timed_headers(NOW), "x-timestamp": str(NOW + 1000)}
    assert refusal(timed(), headers, now=NOW + 1000) == "signature_invalid"


def test_a_missing_or_malformed_timestamp_is_refused() -> None:
    """Without the timestamp header: signature_missing; with one that is not Unix seconds: invalid."""
    headers = timed_headers(NOW)
    assert refusal(timed(), {"x-signature": headers["x-signature"]}) == "signature_missing"
    assert refusal(timed(), {**headers, "x-timestamp": "2026-01-01"}) == "signature_invalid"


def test_without_a_timestamp_header_no_time_is_checked() -> None:
    """A setting without `timestampHeader` accepts an old request (there is no time to check)."""
    check(setting(), {"x-signature": sign(BODY)}, now=NOW * 2)


def test_headers_and_the_url_in_the_content_are_signed() -> None:
    """`{headers.<name>}` and `{url}` are part of the content: a different value of either is invalid."""
    config = setting(content="{url}|{headers.X-Request-Id}|{body}")
    headers = {"x-request-id": "req-9", "x-signature": sign(f"{URL}|req-9|".encode() + BODY)}
    check(config, headers)
    assert refusal(config, {**headers, "x-request-id": "req-10"}) == "signature_invalid"
    with pytest.raises(RejectedRequest):
        check_signature(config, headers, BODY, NOW, url=URL.replace("tenant=7", "tenant=8"))


def test_a_header_the_request_lacks_signs_as_empty() -> None:
    """A header named in the content but not sent counts as empty text."""
    config = setting(content="{headers.x-request-id}:{body}")
    check(config, {"x-signature": sign(b":" + BODY)})


def test_the_id_header_fills_in_the_id() -> None:
    """With `idHeader`, `{id}` is that header's value; without the header: signature_missing."""
    config = setting(content="{id}.{timestamp}.{body}", idHeader="X-Id", timestampHeader="X-Ts")
    headers = {"x-id": "msg_1", "x-ts": str(NOW), "x-signature": sign(f"msg_1.{NOW}.".encode() + BODY)}
    check(config, headers)
    assert refusal(config, {**headers, "x-id": "msg_2"}) == "signature_invalid"
    assert refusal(config, {key: value for key, value in headers.items() if key != "x-id"}) == (
        "signature_missing"
    )


def test_the_configured_url_replaces_the_one_received() -> None:
    """With `url` set, `{url}` is that public URL plus the request's query string."""
    config = setting(content="{url}{body}", url="https://public.example.com/in")
    headers = {"x-signature": sign(b"https://public.example.com/in?tenant=7" + BODY)}
    check(config, headers)


def test_a_valid_setting_of_every_field_has_no_problems() -> None:
    """A setting using every field validates."""
    config = setting(
        algorithm="sha512",
        prefix="v1=",
        encoding="base64",
        content="{id}:{timestamp}:{url}:{headers.content-type}:{body}",
        timestampHeader="X-Ts",
        idHeader="X-Id",
        url="https://hooks.example.com/in",
        tolerance=60,
    )
    assert signature_problems(config) == []


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"header": None}, "config.signature.header"),
        ({"header": ""}, "config.signature.header"),
        ({"header": "X Signature"}, "config.signature.header"),
        ({"algorithm": "md5"}, "config.signature.algorithm"),
        ({"encoding": "base32"}, "config.signature.encoding"),
        ({"prefix": 5}, "config.signature.prefix"),
        ({"content": 5}, "config.signature.content"),
        ({"content": "{url}"}, "config.signature.content"),
        ({"content": "{body}{nope}"}, "config.signature.content"),
        ({"content": "{body}}"}, "config.signature.content"),
        ({"content": "{headers.}{body}"}, "config.signature.content"),
        ({"content": "{timestamp}.{body}"}, "config.signature.content"),
        ({"content": "{id}.{body}"}, "config.signature.content"),
        ({"content": "{headers.x-signature}{body}"}, "config.signature.content"),
        ({"timestampHeader": ""}, "config.signature.timestampHeader"),
        ({"idHeader": 7}, "config.signature.idHeader"),
        ({"tolerance": 300}, "config.signature.tolerance"),
        ({"url": "not a url"}, "config.signature.url"),
        ({"keys": ["x"]}, "config.signature.keys"),
    ],
)
def test_a_bad_hmac_setting_is_a_problem_where_it_is(fields: dict[str, Any], where: str) -> None:
    """Each mistake in an hmac setting is one problem, at its own field."""
    config = {**setting(), **fields}
    if config["header"] is None:
        del config["header"]
    assert [problem.where for problem in signature_problems(config)] == [where]


@pytest.mark.parametrize("secret", ["{{$env.HMAC_SECRET}}", "{{ $env.WHSEC }}"])
@pytest.mark.parametrize(
    "preset", ["github", "gitlab", "shopify", "stripe", "slack", "standard-webhooks", "twilio", "hmac"]
)
def test_an_env_secret_passes_the_save_time_check_of_every_preset(preset: str, secret: str) -> None:
    """A `{{$env.NAME}}` secret is valid when saving, whatever format the preset needs of its value."""
    config: dict[str, Any] = {"preset": preset, "secrets": [secret]}
    if preset == "hmac":
        config["header"] = "X-Signature"
    assert signature_problems(config) == []


def test_an_unresolved_env_secret_is_never_a_key() -> None:
    """A `{{$env.NAME}}` still unresolved at check time refuses the request, even signed with its text."""
    reference = "{{$env.HMAC_SECRET}}"
    headers = {"x-signature": sign(BODY, reference)}
    assert refusal(setting(reference), headers) == "signature_invalid"
    check(setting(reference, SECRET), {"x-signature": sign(BODY)})
