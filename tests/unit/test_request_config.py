"""The request node's pure parts: config checks, retry math, Retry-After, bodies, redaction, allow-list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import ip_address, ip_network
from typing import Any

import pytest

from hookline.errors import ConfigError
from hookline.nodes._request_body import as_text, body_kind, encode_body
from hookline.nodes._request_config import RequestOptions
from hookline.nodes._request_redact import REDACTED, Sent, summary, without_password
from hookline.nodes._request_response import decode_data
from hookline.nodes._retry_policy import RetryPolicy, retry_after_seconds
from hookline.nodes.registry import node_type
from hookline.nodes.request import RequestNode
from hookline.outbound import parse_allow
from hookline.outbound.addresses import refusal
from hookline.settings import Settings

NODE = RequestNode()
URL = "https://api.example.com/orders"


def problems(**config: Any) -> dict[str, str]:
    """The problems of a config holding `url` plus the given fields, by their `where`."""
    return {p.where: p.message for p in NODE.check({"url": URL, **config})}


def test_request_is_registered() -> None:
    """The registry knows the request node by its type string."""
    assert isinstance(node_type("request"), RequestNode)


def test_a_url_alone_is_a_valid_config() -> None:
    """Every other field has a default."""
    assert problems() == {}


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        (None, False),
        ("", False),
        ("ftp://example.com/x", False),
        ("https://", False),
        ("example.com/orders", False),
        ("http://example.com", True),
        ("{{$context.body.callback}}", True),
        ("https://{{$context.body.host}}/x", True),
        ("file:///{{$context.body.path}}", False),
    ],
)
def test_the_url_must_be_http_or_https(url: Any, valid: bool) -> None:
    """A fixed URL needs an http(s) scheme and a host; a templated one a safe fixed prefix."""
    found = {p.where for p in NODE.check({"url": url} if url is not None else {})}
    assert ("config.url" not in found) is valid


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("method", "FETCH"),
        ("method", 1),
        ("contentType", "image/png"),
        ("headers", {"Authorization": "x"}),
        ("timeout", 0),
        ("timeout", 600_001),
        ("timeout", "5000"),
        ("ignoreFail", "yes"),
        ("onlyData", 1),
        ("maxResponseBytes", 0),
        ("idempotencyKey", "not a header"),
        ("idempotencyKey", 5),
        ("retry", [3]),
    ],
)
def test_each_bad_field_is_named(field: str, value: Any) -> None:
    """A bad value is one problem at `config.<field>`."""
    assert list(problems(**{field: value})) == [f"config.{field}"]


def test_header_entries_are_checked_one_by_one() -> None:
    """A framing header, a bad name and a control character are each named with their index."""
    found = problems(
        headers=[
            {"name": "Content-Length", "value": "1"},
            {"name": "X Bad", "value": "1"},
            {"name": "X-Ok", "value": "a\nb"},
            {"name": "X-Fine", "value": "{{$context.body.id}}"},
        ]
    )
    assert set(found) == {"config.headers[0].name", "config.headers[1].name", "config.headers[2].value"}


@pytest.mark.parametrize(
    ("retry", "where"),
    [
        ({"attempts": 0}, "config.retry.attempts"),
        ({"attempts": 21}, "config.retry.attempts"),
        ({"backoff": -1}, "config.retry.backoff"),
        ({"maxDelay": 86_400_001}, "config.retry.maxDelay"),
        ({"onStatus": [503, "504"]}, "config.retry.onStatus"),
        ({"onStatus": [99]}, "config.retry.onStatus"),
        ({"onNetworkError": 1}, "config.retry.onNetworkError"),
        ({"attemps": 3}, "config.retry.attemps"),
    ],
)
def test_retry_fields_are_checked(retry: dict[str, Any], where: str) -> None:
    """Each field of `retry` has its own problem (1 is not true: booleans are exact)."""
    assert list(problems(retry=retry)) == [where]


def test_content_types_take_both_spellings() -> None:
    """NocoBase's MIME spellings mean the same as the short names; case and spaces do not matter."""
    assert body_kind("application/json") == body_kind("JSON") == "json"
    assert body_kind("text/xml") == body_kind("application/xml") == "xml"
    assert body_kind(" multipart/form-data ") == "multipart"
    assert body_kind("application/x-www-form-urlencoded") == "form"
    assert body_kind(None) == "json"
    assert body_kind("text/html") is None


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"contentType": "xml", "data": {"a": 1}}, "config.data"),
        ({"contentType": "form", "data": 5}, "config.data"),
        ({"contentType": "multipart", "data": [{"value": "x"}]}, "config.data[0]"),
    ],
)
def test_data_must_suit_its_content_type(config: dict[str, Any], where: str) -> None:
    """XML is text; form and multipart data is an object or a list of named fields."""
    assert list(problems(**config)) == [where]


def test_templated_data_is_checked_when_it_runs() -> None:
    """A placeholder's value is unknown at save time, so any content type accepts one."""
    assert problems(contentType="xml", data="{{$context.body.xml}}") == {}


def test_options_have_their_defaults() -> None:
    """POST, JSON, 5 s, Idempotency-Key, 10 MiB, one attempt."""
    options = RequestOptions.from_config({"url": URL})
    assert (options.method, options.kind, options.timeout_ms) == ("POST", "json", 5000)
    assert options.idempotency_header == "Idempotency-Key"
    assert options.max_response_bytes == 10 * 1024 * 1024
    assert options.retry == RetryPolicy()
    assert options.retry.attempts == 1


@pytest.mark.parametrize(
    ("value", "header"), [(False, None), (None, None), (True, "Idempotency-Key"), ("X-Key", "X-Key")]
)
def test_the_idempotency_header_can_be_renamed_or_turned_off(value: Any, header: str | None) -> None:
    """false or null turns it off; a name renames it."""
    assert RequestOptions.from_config({"url": URL, "idempotencyKey": value}).idempotency_header == header


def test_backoff_grows_exponentially_under_full_jitter() -> None:
    """The draw scales backoff * 2**(done-1): 0 gives 0, 0.5 gives half of it."""
    policy = RetryPolicy(attempts=5, backoff_ms=1000, max_delay_ms=60_000)
    assert policy.delay_seconds(1, 0.0) == 0.0
    assert policy.delay_seconds(1, 0.5) == 0.5
    assert policy.delay_seconds(2, 0.5) == 1.0
    assert policy.delay_seconds(4, 0.5) == 4.0


def test_backoff_is_capped_by_max_delay() -> None:
    """However many attempts were made, the ceiling is maxDelay."""
    policy = RetryPolicy(attempts=20, backoff_ms=1000, max_delay_ms=3000)
    assert policy.delay_seconds(19, 0.999) == pytest.approx(2.997)


def test_retry_after_replaces_the_jitter_and_is_capped() -> None:
    """A receiver's Retry-After is honoured up to maxDelay; a negative one means now."""
    policy = RetryPolicy(attempts=3, backoff_ms=1000, max_delay_ms=10_000)
    assert policy.delay_seconds(1, 0.9, retry_after=7.0) == 7.0
    assert policy.delay_seconds(1, 0.9, retry_after=3600.0) == 10.0
    assert policy.delay_seconds(1, 0.9, retry_after=-5.0) == 0.0


def test_a_retry_config_fills_in_the_defaults() -> None:
    """Only attempts given: 1 s back-off, 30 s cap, the usual passing statuses, network errors too."""
    policy = RetryPolicy.from_config({"attempts": 3})
    assert policy.attempts == 3
    assert (policy.backoff_ms, policy.max_delay_ms, policy.on_network_error) == (1000, 30_000, True)
    assert policy.on_status == {408, 429, 500, 502, 503, 504}
    assert RetryPolicy.from_config({"onStatus": [], "onNetworkError": False, "backoff": 0}).on_status == set()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Delay-seconds as they are; an HTTP date as the seconds until it (0 when past); junk as None."""
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert retry_after_seconds("Fri, 02 Jan 2026 03:04:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("-5", now) is None
    assert retry_after_seconds(None, now) is None


def test_form_bodies_are_written_as_url_search_params_do() -> None:
    """Spaces as +, reserved characters escaped; an object and a list of fields give the same bytes."""
    as_object = encode_body("form", {"name": "Ada Lovelace", "tags": "a&b=c", "n": 2.0, "ok": True})
    as_list = encode_body(
        "form", [{"name": "name", "value": "Ada Lovelace"}, {"name": "tags", "value": "a&b=c"}]
    )
    assert as_object.content == b"name=Ada+Lovelace&tags=a%26b%3Dc&n=2&ok=true"
    assert as_list.content == b"name=Ada+Lovelace&tags=a%26b%3Dc"
    assert as_object.content_type == "application/x-www-form-urlencoded"


def test_multipart_bodies_quote_names_and_mark_files() -> None:
    """Each part has its disposition; a file part its file name and type; quotes are escaped."""
    body = encode_body(
        "multipart",
        [
            {"name": 'a"b', "value": "x"},
            {"name": "f", "value": "hi", "filename": "n.txt", "contentType": "text/plain"},
        ],
        boundary="B",
    )
    assert body.content == (
        b'--B\r\nContent-Disposition: form-data; name="a%22b"\r\n\r\nx\r\n'
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="n.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhi\r\n"
        b"--B--\r\n"
    )
    assert body.content_type == "multipart/form-data; boundary=B"


def test_no_data_means_no_body() -> None:
    """Without data nothing is sent, and no Content-Type either."""
    assert encode_body("json", None).content == b""
    assert encode_body("json", None).content_type is None


def test_values_become_text_as_templates_write_them() -> None:
    """null is empty, booleans lower case, whole floats without .0, containers as JSON."""
    assert [as_text(v) for v in (None, True, 2.0, 2.5, 7, "s", {"a": [1]})] == [
        "",
        "true",
        "2",
        "2.5",
        "7",
        "s",
        '{"a":[1]}',
    ]


def test_secret_headers_and_env_values_are_redacted() -> None:
    """Authorization, Proxy-Authorization, Cookie, X-Api-Key and `{{$env.…}}` values are not recorded."""
    headers = [
        Sent("Authorization", "Bearer t0k3n"),
        Sent("proxy-authorization", "Basic eA=="),
        Sent("Cookie", "s=1"),
        Sent("X-API-Key", "k"),
        Sent("X-Signature", "from-env", "{{ $env.SIGNING }}"),
        Sent("X-Order", "7", "{{$context.body.id}}"),
    ]
    params = [Sent("key", "p4ss", "{{$env.KEY}}"), Sent("q", "ada", "{{$context.body.name}}")]
    record = summary(
        "POST", "https://u:pw@api.example.com/x", "https://u:pw@api.example.com/x", params, headers
    )
    assert [h["value"] for h in record["headers"]] == [REDACTED] * 5 + ["7"]
    assert [p["value"] for p in record["params"]] == [REDACTED, "ada"]
    assert record["url"] == f"https://u:{REDACTED}@api.example.com/x"


def test_a_url_built_from_a_secret_is_recorded_as_written() -> None:
    """The template, not the secret it rendered to."""
    template = "https://api.example.com/hook/{{$env.HOOK_TOKEN}}"
    assert summary("GET", template, "https://api.example.com/hook/s3cret", [], [])["url"] == template
    assert without_password("https://api.example.com/") == "https://api.example.com/"


@pytest.mark.parametrize(
    ("content_type", "content", "data", "binary"),
    [
        ("application/json", b'{"a": 1}', {"a": 1}, False),
        ("application/problem+json", b'{"a": 1}', {"a": 1}, False),
        ("application/json", b"{not json", "{not json", False),
        ("text/plain; charset=latin-1", "café".encode("latin-1"), "café", False),
        ("application/xml", b"<a/>", "<a/>", False),
        (None, b"[1, 2]", [1, 2], False),
        (None, b"plain", "plain", False),
        (None, b"\xff\xfe", "//4=", True),
        ("image/png", b"\x89PNG", "iVBORw==", True),
        ("application/json", b"", "", False),
    ],
)
def test_response_data_is_json_text_or_base64(
    content_type: str | None, content: bytes, data: Any, binary: bool
) -> None:
    """JSON is parsed, text decoded by its charset, anything else base64 with the flag."""
    charset = content_type.split("charset=")[1] if content_type and "charset=" in content_type else None
    assert decode_data(content_type, content, charset) == (data, binary)


def test_json_too_deep_to_store_is_kept_as_text() -> None:
    """A job's result must be storable: very deep JSON stays a string."""
    deep = b"[" * 300 + b"]" * 300
    assert decode_data("application/json", deep, None) == (deep.decode(), False)


def test_allow_list_reads_hosts_wildcards_addresses_and_networks() -> None:
    """Names match exactly (case and final dot aside) or under a `*.` suffix; IPs as one-address networks."""
    allow = parse_allow([" API.internal ", "*.corp.example", "10.0.0.5", "192.168.0.0/16", "[fd00::1]", ""])
    assert allow.allows_host("api.internal.")
    assert allow.allows_host("a.b.corp.example")
    assert not allow.allows_host("corp.example")
    assert not allow.allows_host("api.internal.evil")
    assert allow.allows_address(ip_address("10.0.0.5"))
    assert not allow.allows_address(ip_address("10.0.0.6"))
    assert allow.allows_address(ip_address("192.168.4.4"))
    assert allow.allows_address(ip_address("fd00::1"))
    assert allow.networks[0] == ip_network("10.0.0.5/32")


@pytest.mark.parametrize(
    "entry", ["http://api.internal", "api.internal:8080", "10.0.0.5/8", "10.0.0.300", "a b", "-x"]
)
def test_a_bad_allow_entry_names_the_setting_and_the_entry(entry: str) -> None:
    """An entry that is neither a name nor an IP/CIDR stops the start with a clear message."""
    with pytest.raises(ConfigError) as caught:
        parse_allow(["localhost", entry])
    assert "HOOKLINE_REQUEST_ALLOW" in str(caught.value)
    assert repr(entry) in str(caught.value)


def test_settings_read_the_request_allow_list() -> None:
    """HOOKLINE_REQUEST_ALLOW is a comma-separated list; empty by default."""
    assert Settings.from_env({}).request_allow == ()
    settings = Settings.from_env({"HOOKLINE_REQUEST_ALLOW": "localhost, 10.0.0.0/8,"})
    assert settings.request_allow == ("localhost", "10.0.0.0/8")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12::1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a bind
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "shared carrier-grade NAT"),
        ("240.0.0.1", "private"),
        ("192.0.2.1", "private"),
        ("::ffff:127.0.0.1", "loopback, as IPv4 inside IPv6"),
        ("::ffff:10.0.0.1", "private, as IPv4 inside IPv6"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata, as IPv4 inside IPv6"),
        ("2002:7f00:1::", "loopback, as IPv4 inside IPv6"),
        ("::127.0.0.1", "reserved"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("64:ff9b::808:808", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_only_public_addresses_pass_the_guard(address: str, kind: str | None) -> None:
    """Loopback, private, link-local, metadata, CGNAT, multicast, reserved (also inside IPv6) are refused."""
    assert refusal(ip_address(address)) == kind
