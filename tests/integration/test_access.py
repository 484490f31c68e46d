"""API keys, IP allow-lists and trusted proxies through real HTTP requests into the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from hookline.store.execution_history import ExecutionFilter
from hookline.trigger.config import check_trigger_config
from hookline.trigger.context import REDACTED
from tests._workflows import chain
from tests.integration.conftest import Server

KEY = "k-0123456789abcdef"
PROXY = "10.0.0.1"


def guarded(config: dict[str, Any]) -> dict[str, Any]:
    """A synchronous one-node workflow whose trigger config is `config`."""
    workflow = chain("end", sync=True)
    workflow["config"] = config
    return workflow


@asynccontextmanager
async def calling_from(server: Server, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests reach the app from the socket peer `address`."""
    transport = httpx.ASGITransport(app=server.app, client=(address, 50_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as client:
        yield client


async def post_from(server: Server, address: str, key: str, **kwargs: Any) -> httpx.Response:
    """POST to a webhook URL from the peer `address`."""
    async with calling_from(server, address) as client:
        return await client.post(f"/api/webhook:trigger/{key}", json={"n": 1}, **kwargs)


async def executions(server: Server) -> int:
    """How many executions the server recorded."""
    return len(await server.runtime.store.list_executions(ExecutionFilter(limit=100)))


@pytest.fixture
async def behind_proxy(make_server: Callable[..., Any]) -> AsyncIterator[Server]:
    """A server that trusts the proxy at 10.0.0.1 and the IPv6 network fd00::/8."""
    async with make_server(workers=0, trusted_proxies=(f"{PROXY}/32", "fd00::/8")) as server:
        yield server


async def test_allow_list_admits_inside_and_refuses_outside_with_403(server: Server) -> None:
    """Clients inside `allowFrom` (IPv4, IPv6, mapped IPv4) run it; others get 403 and run nothing."""
    key = await server.load(guarded({"allowFrom": ["203.0.113.0/24", "2001:db8::/32"]}))
    for inside in ("203.0.113.9", "2001:db8::5", "::ffff:203.0.113.10"):
        assert (await post_from(server, inside, key)).status_code == 200, inside
    refused = await post_from(server, "198.51.100.1", key)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ip_not_allowed"
    assert await executions(server) == 3


async def test_forwarded_for_counts_only_from_a_trusted_proxy(behind_proxy: Server) -> None:
    """Behind a trusted proxy the right-most entry counts; a spoofed one, or an untrusted peer, does not."""
    key = await behind_proxy.load(guarded({"allowFrom": ["203.0.113.0/24"]}))
    admitted = await post_from(behind_proxy, PROXY, key, headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.5"})
    assert admitted.status_code == 200
    spoofed = await post_from(behind_proxy, PROXY, key, headers={"X-Forwarded-For": "203.0.113.5, 6.6.6.6"})
    assert spoofed.status_code == 403
    assert "6.6.6.6" in spoofed.json()["error"]["message"]
    untrusted = await post_from(behind_proxy, "198.51.100.1", key, headers={"X-Forwarded-For": "203.0.113.5"})
    assert untrusted.status_code == 403
    assert await executions(behind_proxy) == 1


async def test_every_forwarded_for_line_counts(behind_proxy: Server) -> None:
    """A proxy that adds its own X-Forwarded-For line is read after the client's own, spoofed, line."""
    key = await behind_proxy.load(guarded({"allowFrom": ["203.0.113.0/24"]}))
    lines = [("X-Forwarded-For", "203.0.113.5"), ("X-Forwarded-For", "6.6.6.6")]
    assert (await post_from(behind_proxy, PROXY, key, headers=lines)).status_code == 403


async def test_ipv6_proxy_and_client(behind_proxy: Server) -> None:
    """An IPv6 trusted proxy forwarding an IPv6 client (even with a port) is judged by the client."""
    key = await behind_proxy.load(guarded({"allowFrom": ["2001:db8::/32"]}))
    forwarded = {"X-Forwarded-For": "[2001:db8::7]:443"}
    assert (await post_from(behind_proxy, "fd00::2", key, headers=forwarded)).status_code == 200
    garbage = {"X-Forwarded-For": "2001:db8::7, not-an-ip"}
    assert (await post_from(behind_proxy, "fd00::2", key, headers=garbage)).status_code == 403


async def test_api_key_missing_wrong_and_right(server: Server) -> None:
    """No key or a wrong key answers 401 with the reason, running nothing; a right one runs, key redacted."""
    key = await server.load(guarded({"apiKey": {"header": "X-Hook-Token", "keys": ["old-key", KEY]}}))
    missing = await server.post(key, json={})
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "api_key_missing")
    wrong = await server.post(key, json={}, headers={"X-Hook-Token": "guess"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "api_key_invalid")
    assert await executions(server) == 0
    right = await server.post(key, json={}, headers={"X-Hook-Token": KEY})
    assert right.status_code == 200
    [stored] = await server.runtime.store.list_executions(ExecutionFilter(limit=10))
    assert stored.context["headers"]["x-hook-token"] == REDACTED
    assert KEY not in str(stored.context)


async def test_allow_list_is_checked_before_any_key(server: Server) -> None:
    """A caller outside the allow-list gets 403 with the right API key or none: it learns nothing of keys."""
    key = await server.load(guarded({"allowFrom": ["203.0.113.0/24"], "apiKey": {"keys": [KEY]}}))
    for headers in ({}, {"X-Api-Key": KEY}):
        assert (await post_from(server, "198.51.100.1", key, headers=headers)).status_code == 403
    assert (await post_from(server, "203.0.113.1", key)).status_code == 401
    assert (await post_from(server, "203.0.113.1", key, headers={"X-Api-Key": KEY})).status_code == 200


def test_trigger_config_accepts_and_checks_access_fields() -> None:
    """`apiKey` and `allowFrom` are known trigger fields whose mistakes are reported at their path."""
    assert check_trigger_config({"apiKey": {"keys": [KEY]}, "allowFrom": ["::1"]}, sync=True) == []
    problems = check_trigger_config({"apiKey": {"keys": []}, "allowFrom": ["nope"]}, sync=True)
    assert [p.where for p in problems] == ["config.apiKey.keys", "config.allowFrom[0]"]
