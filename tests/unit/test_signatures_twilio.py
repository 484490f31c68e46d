"""Tests for the `twilio` preset, against signatures made and checked by the `twilio` package itself.

`RequestValidator.compute_signature` signs every request here, and `RequestValidator.validate`
gives its own verdict next to hookline's: for ports, repeated parameters and `bodySHA256` alike.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from hookline.errors import RejectedRequest
from hookline.trigger.signatures import check_signature, signature_problems

TOKEN = "12345"
OTHER = "67890"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
FORM = "application/x-www-form-urlencoded"
JSON = b'{"event": "call.completed", "caller": "+12349013030"}'


class MultiDict(dict[str, list[str]]):
    """Form parameters with repeated names, read through `getall` as `RequestValidator` reads Flask's."""

    def getall(self, name: str) -> list[str]:
        """Every value of `name`."""
        return self[name]


def multi(pairs: list[tuple[str, str]]) -> MultiDict:
    """Pairs as a MultiDict."""
    values = MultiDict()
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def setting(*tokens: str, **extra: Any) -> dict[str, Any]:
    """A twilio `config.signature` with these auth tokens (TOKEN by default)."""
    return {"preset": "twilio", "secrets": list(tokens or (TOKEN,)), **extra}


def form_headers(signature: str, **more: str) -> dict[str, str]:
    """The headers of a signed form POST."""
    return {"content-type": FORM, "x-twilio-signature": signature, **more}


def passes(config: dict[str, Any], headers: dict[str, str], body: bytes, url: str) -> bool:
    """Whether hookline accepts the request; any refusal must be a 401 signature_invalid."""
    refused = None
    try:
        check_signature(config, headers, body, 0, url=url)
    except RejectedRequest as error:
        refused = error
    if refused is None:
        return True
    assert (refused.status, refused.code) == (401, "signature_invalid"), refused.message
    return False


def with_hash(url: str, body: bytes) -> str:
    """The URL Twilio calls for a JSON body: its own, plus `bodySHA256` as the validator computes it."""
    digest = RequestValidator(TOKEN).compute_hash(body.decode())
    return f"{url}{'&' if '?' in url else '?'}bodySHA256={digest}"


def test_twilios_published_example_passes() -> None:
    """Twilio's documented example (token 12345, its URL and parameters) passes with its signature."""
    assert RequestValidator(TOKEN).compute_signature(URL, PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    body = urlencode(PARAMS).encode()
    assert passes(setting(), form_headers("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), body, URL)


def test_a_changed_or_added_parameter_is_invalid() -> None:
    """A form changed after signing (a value, or one more parameter) is refused, as the validator does."""
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    for changed in ({**PARAMS, "Digits": "9999"}, {**PARAMS, "Extra": "1"}):
        assert not passes(setting(), form_headers(signature), urlencode(changed).encode(), URL)
        assert not RequestValidator(TOKEN).validate(URL, changed, signature)


def test_a_wrong_token_is_invalid_and_either_rotated_token_passes() -> None:
    """Signed with another token: refused; with both tokens configured, a request signed by either passes."""
    body = urlencode(PARAMS).encode()
    other = RequestValidator(OTHER).compute_signature(URL, PARAMS)
    assert not passes(setting(), form_headers(other), body, URL)
    for token in (TOKEN, OTHER):
        signature = RequestValidator(token).compute_signature(URL, PARAMS)
        assert passes(setting(TOKEN, OTHER), form_headers(signature), body, URL)


def test_another_url_is_invalid() -> None:
    """The URL is signed: the same form signed for another path or query is refused."""
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    body = urlencode(PARAMS).encode()
    for url in ("https://mycompany.com/other.php?foo=1&bar=2", "https://mycompany.com/myapp.php?foo=1"):
        assert not passes(setting(), form_headers(signature), body, url)


@pytest.mark.parametrize(
    ("signed", "seen"),
    [
        ("https://example.com/hook", "https://example.com:443/hook"),
        ("https://example.com:443/hook", "https://example.com/hook"),
        ("http://example.com:80/hook", "http://example.com/hook"),
        ("https://example.com:8443/hook", "https://example.com/hook"),
        ("https://example.com/hook", "https://example.com:8443/hook"),
        ("https://example.com:8443/hook", "https://example.com:9443/hook"),
        ("https://example.com:443/hook", "http://example.com/hook"),
        ("http://example.com/hook", "https://example.com/hook"),
    ],
)
def test_ports_are_treated_as_the_validator_treats_them(signed: str, seen: str) -> None:
    """Signed for one URL and received at another, hookline's verdict on the port is the validator's."""
    signature = RequestValidator(TOKEN).compute_signature(signed, PARAMS)
    body = urlencode(PARAMS).encode()
    expected = RequestValidator(TOKEN).validate(seen, PARAMS, signature)
    assert passes(setting(), form_headers(signature), body, seen) == expected


def test_repeated_parameters_sign_their_distinct_values_sorted() -> None:
    """A repeated name signs each distinct value once, sorted, as the validator does with a MultiDict."""
    pairs = [("Media", "b"), ("Media", "a"), ("Media", "b"), ("Body", ""), ("A", "z")]
    signature = RequestValidator(TOKEN).compute_signature(URL, multi(pairs))
    assert RequestValidator(TOKEN).validate(URL, multi(pairs), signature)
    assert passes(setting(), form_headers(signature), urlencode(pairs).encode(), URL)
    once = [pair for pair in pairs if pair != ("Media", "a")]
    assert not passes(setting(), form_headers(signature), urlencode(once).encode(), URL)


def test_form_values_are_decoded_before_signing() -> None:
    """Percent-escapes and `+` are decoded (UTF-8, or the charset given) before the values are signed."""
    params = {"Body": "Café déjà vu + more", "From": "+4917"}
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    assert passes(setting(), form_headers(signature), urlencode(params).encode(), URL)
    latin = urlencode(params, encoding="latin-1").encode()
    headers = form_headers(signature, **{"content-type": f"{FORM}; charset=ISO-8859-1"})
    assert passes(setting(), headers, latin, URL)


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=6))
def test_any_form_the_validator_signs_passes(pairs: list[tuple[str, str]]) -> None:
    """Whatever parameters the validator signs (any names, values, repeats), hookline accepts."""
    signature = RequestValidator(TOKEN).compute_signature(URL, multi(pairs))
    assert passes(setting(), form_headers(signature), urlencode(pairs).encode(), URL)


def test_a_json_body_is_checked_against_body_sha256() -> None:
    """A JSON body passes when the signed URL's bodySHA256 is its hash; a changed body is refused."""
    url = with_hash("https://example.com/hook?x=1", JSON)
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    headers = {"content-type": "application/json", "x-twilio-signature": signature}
    assert RequestValidator(TOKEN).validate(url, JSON.decode(), signature)
    assert passes(setting(), headers, JSON, url)
    tampered = JSON.replace(b"completed", b"answered")
    assert not RequestValidator(TOKEN).validate(url, tampered.decode(), signature)
    assert not passes(setting(), headers, tampered, url)


def test_a_body_that_no_signature_covers_is_invalid() -> None:
    """A JSON body without bodySHA256 in the URL is refused: the signature covers the URL only."""
    signature = RequestValidator(TOKEN).compute_signature("https://example.com/hook", {})
    headers = {"content-type": "application/json", "x-twilio-signature": signature}
    assert passes(setting(), headers, b"", "https://example.com/hook")
    assert not passes(setting(), headers, JSON, "https://example.com/hook")


def test_the_configured_url_replaces_the_one_received() -> None:
    """With `url` set, the public URL plus the request's own query string is what must be signed."""
    public = "https://hooks.example.com/twilio/voice"
    signature = RequestValidator(TOKEN).compute_signature(f"{public}?caller=1", PARAMS)
    body = urlencode(PARAMS).encode()
    internal = "http://10.0.0.5:8000/api/webhook:trigger/abc?caller=1"
    assert passes(setting(url=public), form_headers(signature), body, internal)
    assert not passes(setting(), form_headers(signature), body, internal)


def test_a_shared_key_signature_uses_the_algorithm_its_settings_header_names() -> None:
    """`X-Twilio-Webhooks-Signature-Settings: algorithm=HMAC_SHA256` is checked as HMAC-SHA256."""
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS, "HMAC_SHA256")
    body = urlencode(PARAMS).encode()
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    headers = form_headers(signature, **{"x-twilio-webhooks-signature-settings": settings})
    assert passes(setting(), headers, body, URL)
    assert not passes(setting(), form_headers(signature), body, URL)
    headers["x-twilio-webhooks-signature-settings"] = "algorithm=HMAC_MD5"
    assert not passes(setting(), headers, body, URL)


def test_a_missing_signature_is_signature_missing() -> None:
    """A request without X-Twilio-Signature is refused as signature_missing."""
    with pytest.raises(RejectedRequest) as caught:
        check_signature(setting(), {"content-type": FORM}, urlencode(PARAMS).encode(), 0, url=URL)
    assert (caught.value.status, caught.value.code) == (401, "signature_missing")


def test_a_host_with_a_broken_port_is_invalid() -> None:
    """A URL built from a Host header whose port is not a number is refused, not a crash."""
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    assert not passes(setting(), form_headers(signature), b"", "http://example.com:x/hook")


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"tolerance": 300}, "config.signature.tolerance"),
        ({"url": "https://hooks.example.com/t?x=1"}, "config.signature.url"),
        ({"url": "https://hooks.example.com/t#frag"}, "config.signature.url"),
        ({"url": "/api/webhook:trigger/abc"}, "config.signature.url"),
        ({"url": "ftp://hooks.example.com/t"}, "config.signature.url"),
        ({"url": "https://hooks.example.com:0/t"}, "config.signature.url"),
        ({"url": "https://[::1/t"}, "config.signature.url"),
        ({"url": 5}, "config.signature.url"),
        ({"header": "X-Sig"}, "config.signature.header"),
    ],
)
def test_a_bad_twilio_setting_is_a_problem_where_it_is(extra: dict[str, Any], where: str) -> None:
    """A tolerance (Twilio signs no time), a URL with a query or not absolute, an hmac field: a problem."""
    assert [problem.where for problem in signature_problems(setting(**extra))] == [where]


def test_a_good_twilio_setting_has_no_problems() -> None:
    """Tokens alone, or with a public URL (a port included), validate; `url` is refused for github."""
    assert signature_problems(setting(TOKEN, OTHER)) == []
    assert signature_problems(setting(url="https://hooks.example.com:8443/twilio")) == []
    github = {"preset": "github", "secrets": ["s"], "url": "https://hooks.example.com/t"}
    assert [problem.where for problem in signature_problems(github)] == ["config.signature.url"]
