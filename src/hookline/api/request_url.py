"""The URL a webhook request was made to, as its sender called it (Twilio signs it, so must we see it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.types import Scope

PublicUrl = Callable[[str], str]
"""A workflow key → its webhook URL as senders call it (from `HOOKLINE_PUBLIC_URL`)."""


def request_url(scope: Scope, headers: Mapping[str, str], key: str, public: PublicUrl | None) -> str:
    """The request's URL with its query string: under the public URL when one is set, else as received.

    Without a public URL it is the scheme, the Host header and the path exactly as received; behind
    a proxy that changes any of them, the sender signed another URL (see docs/senders.md).
    """
    query: str = scope["query_string"].decode("latin-1")
    base = public(key) if public is not None else _received(scope, headers)
    return f"{base}?{query}" if query else base


def _received(scope: Scope, headers: Mapping[str, str]) -> str:
    """scheme://host/path as the request came: the path's bytes as sent, percent-escapes and all."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    path = raw_path.partition(b"?")[0].decode("latin-1")  # some servers keep the query in raw_path
    host = headers.get("host") or _server(scope)
    return f"{scope.get('scheme', 'http')}://{host}{path}"


def _server(scope: Scope) -> str:
    """The address the connection came to, for a request without a Host header (HTTP/1.0)."""
    server = scope.get("server")
    if not server:
        return "localhost"
    host, port = server
    return f"{host}:{port}" if port is not None else str(host)
