"""Tests for the URL a webhook request was made to, as the signature presets that sign it see it."""

from __future__ import annotations

from typing import Any

from hookline.api.request_url import request_url
from hookline.settings import Settings

KEY = "k3y0000000001"


def scope(**fields: Any) -> dict[str, Any]:
    """An ASGI HTTP scope for a POST to the key's webhook URL."""
    path = f"/api/webhook:trigger/{KEY}"
    return {
        "type": "http",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "server": ("10.0.0.5", 8000),
        **fields,
    }


def test_the_url_is_rebuilt_from_scheme_host_path_and_query() -> None:
    """Scheme, Host header, the path's bytes as sent (escapes kept) and the query string as sent."""
    received = scope(
        scheme="https",
        raw_path=b"/hooks/api/webhook:trigger/k%33y",
        query_string=b"a=1&b=%20x",
    )
    url = request_url(received, {"host": "hooks.example.com:8443"}, KEY, None)
    assert url == "https://hooks.example.com:8443/hooks/api/webhook:trigger/k%33y?a=1&b=%20x"


def test_a_query_kept_in_raw_path_is_not_repeated() -> None:
    """A server that keeps the query in `raw_path` (httpx's ASGI transport) gets it once."""
    received = scope(raw_path=f"/api/webhook:trigger/{KEY}?a=1".encode(), query_string=b"a=1")
    assert request_url(received, {"host": "h"}, KEY, None) == f"http://h/api/webhook:trigger/{KEY}?a=1"


def test_without_a_host_header_the_server_address_is_used() -> None:
    """An HTTP/1.0 request without Host: the address the connection came to."""
    assert request_url(scope(), {}, KEY, None) == f"http://10.0.0.5:8000/api/webhook:trigger/{KEY}"


def test_the_public_url_replaces_scheme_host_and_path_but_keeps_the_query() -> None:
    """With HOOKLINE_PUBLIC_URL the URL is the public webhook URL, plus the query the request came with."""
    public = Settings(public_url="https://hooks.example.com/").webhook_url
    received = scope(query_string=b"bodySHA256=ab")
    url = request_url(received, {"host": "10.0.0.5:8000"}, KEY, public)
    assert url == f"https://hooks.example.com/api/webhook:trigger/{KEY}?bodySHA256=ab"


def test_printed_urls_bracket_an_ipv6_host() -> None:
    """A server bound to one IPv6 address prints URLs that a client can use: the address in brackets."""
    settings = Settings(host="::1", port=8000)
    assert settings.base_url == "http://[::1]:8000"
    assert settings.webhook_url("abc") == "http://[::1]:8000/api/webhook:trigger/abc"
    assert Settings(host="::", port=8000).base_url == "http://127.0.0.1:8000"  # every address: the loopback
