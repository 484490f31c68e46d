"""The process's one outbound HTTP client: every connection guarded, no proxy from the environment."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import httpcore
import httpx

from hookline.outbound.allow import AllowList, parse_allow
from hookline.outbound.guard import GuardedBackend

# httpx logs every request at INFO with its whole URL, which may hold values rendered from
# `{{$env.…}}` that the stored job is careful to redact: only its warnings reach the server log.
logging.getLogger("httpx").setLevel(logging.WARNING)

MAX_REDIRECTS = 5
"""Redirects followed per request; each hop's address is checked by the guard."""
USER_AGENT = "hookline"
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose every TCP connection goes through the guard."""

    def __init__(self, allow: AllowList) -> None:
        super().__init__(trust_env=False, limits=LIMITS)
        # httpx gives no public way to hand its pool a network backend, so this is the pool it
        # builds without a proxy, with ours; the integration tests fail if a connection bypasses it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=GuardedBackend(allow),
        )


def open_http_client(allow: Iterable[str] | AllowList = ()) -> httpx.AsyncClient:
    """The outbound client: guarded (`allow` lets private hosts through), redirects followed.

    `allow` is `Settings.request_allow` (HOOKLINE_REQUEST_ALLOW's entries); a bad entry raises
    `ConfigError`. `trust_env` is off: an HTTP(S)_PROXY from the environment would make the proxy,
    not the guard, connect to the target. Close it with `await client.aclose()`.
    """
    rules = allow if isinstance(allow, AllowList) else parse_allow(allow)
    return httpx.AsyncClient(
        transport=GuardedTransport(rules),
        trust_env=False,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
    )
