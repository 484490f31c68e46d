"""Requests that parse but could not be stored as they came are refused before anything runs, on
both databases; refusals are logged with the client's address and counted by workflow."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hookline.engine import flows
from hookline.store.execution_history import ExecutionFilter
from hookline.trigger.context import REDACTED
from tests._workflows import chain
from tests.integration.conftest import Server

AUTH = ("shop", "s3cret")


@pytest.fixture(params=[False, True], ids=["async", "sync"])
async def served(
    request: pytest.FixtureRequest, make_server: Callable[..., Any], database: dict[str, str]
) -> AsyncIterator[tuple[Server, str]]:
    """A server on each database, with a workflow of one End node, asynchronous and synchronous."""
    async with make_server(workers=0, **database) as server:
        yield server, await server.load(chain("end", sync=request.param))


async def executions(server: Server) -> int:
    """How many executions the server recorded."""
    return len(await server.runtime.store.list_executions(ExecutionFilter(limit=100)))


def nested(depth: int) -> bytes:
    """A JSON body of `depth` nested arrays."""
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (nested(65), "json_too_deep"),
        (nested(254), "json_too_deep"),
        (nested(1024), "json_too_deep"),
        (nested(5000), "json_too_deep"),
        (b'{"note": "a\\u0000b"}', "nul_character"),
        (b'{"n": 18446744073709551616}', "number_out_of_range"),
        (b'{"n": 1e400}', "number_out_of_range"),
    ],
)
async def test_a_body_that_cannot_be_stored_is_a_400_and_records_nothing(
    served: tuple[Server, str], body: bytes, code: str
) -> None:
    """Too deep, a NUL character, a number beyond 64 bits: a 400 naming the reason, and no execution.

    Before, depths of 254 to 1,024 answered `500 internal_error`, NUL answered 500 on PostgreSQL
    (failing the whole group commit it was in), and big integers were stored as rounded floats.
    """
    server, key = served
    response = await server.post(key, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert await executions(server) == 0


async def test_a_nul_character_in_the_query_is_a_400(served: tuple[Server, str]) -> None:
    """`%00` in the query string is a 400 `nul_character`, and nothing is recorded."""
    server, key = served
    response = await server.client.post(f"/api/webhook:trigger/{key}?note=a%00b", json={})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nul_character"
    assert await executions(server) == 0


async def test_the_deepest_body_within_the_limit_is_recorded(served: tuple[Server, str]) -> None:
    """A body exactly as deep as the limit (64) runs and is stored whole."""
    server, key = served
    response = await server.post(key, content=nested(64), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    (execution,) = await server.runtime.store.list_executions(ExecutionFilter(limit=1))
    stored = await server.runtime.store.get_execution(execution.id)
    assert stored is not None
    body = stored.context["body"]
    for _ in range(63):
        (body,) = body
    assert body == []


async def test_the_json_depth_limit_is_a_setting(make_server: Callable[..., Any]) -> None:
    """`json_depth_limit` moves the limit: 3 levels pass a limit of 3, 4 do not."""
    async with make_server(workers=0, json_depth_limit=3) as server:
        key = await server.load(chain("end"))
        json_type = {"Content-Type": "application/json"}
        assert (await server.post(key, content=nested(3), headers=json_type)).status_code == 200
        response = await server.post(key, content=nested(4), headers=json_type)
        assert response.status_code == 400
        assert "3 levels" in response.json()["error"]["message"]


async def test_too_many_query_parameters_is_a_414(make_server: Callable[..., Any]) -> None:
    """More `name=value` pairs than `query_parameter_limit` answers 414, instead of dropping the rest."""
    async with make_server(workers=0, query_parameter_limit=10) as server:
        key = await server.load(chain("end"))
        ten = "&".join(f"a{index}=1" for index in range(10))
        assert (await server.client.post(f"/api/webhook:trigger/{key}?{ten}")).status_code == 200
        response = await server.client.post(f"/api/webhook:trigger/{key}?{ten}&b[c]=1")
        assert response.status_code == 414
        assert response.json()["error"]["code"] == "too_many_query_parameters"


async def test_credential_headers_are_stored_redacted(server: Server) -> None:
    """API keys, sender signatures and header items marked secret are stored as "[redacted]"."""
    workflow = chain("end")
    workflow["config"] = {"request": {"headers": [{"key": "X-Shop-Token", "secret": True}]}}
    key = await server.load(workflow)
    sent = {
        "X-Api-Key": "key-1",
        "X-Hub-Signature-256": "sha256=abc",
        "Stripe-Signature": "t=1,v1=abc",
        "X-Shop-Token": "tok",
    }
    assert (await server.post(key, json={}, headers=sent)).status_code == 200
    (execution,) = await server.runtime.store.list_executions(ExecutionFilter(limit=1))
    stored = await server.runtime.store.get_execution(execution.id)
    assert stored is not None
    for name in sent:
        assert stored.context["headers"][name.lower()] == REDACTED


async def test_a_failed_login_is_logged_with_the_client_address_and_counted_by_workflow(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """A Basic-auth failure is a warning naming the workflow, the client's address and the reason."""
    workflow = chain("end")
    workflow["config"] = {"basicAuthentication": {"username": "shop", "password": "s3cret"}}
    key = await server.load(workflow)
    with caplog.at_level(logging.INFO):
        response = await server.post(key, json={}, auth=("shop", "wrong"))
    assert response.status_code == 401
    (record,) = [r for r in caplog.records if "answered 401" in r.getMessage()]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert key in message
    assert "127.0.0.1" in message  # httpx's ASGI transport reports the client as 127.0.0.1
    assert "username or password" in message
    assert "wrong" not in message
    value = server.runtime.metrics.registry.get_sample_value(
        "hookline_webhook_rejections_total", {"workflow": key, "reason": "unauthorized"}
    )
    assert value == 1


async def test_requests_to_made_up_keys_cannot_grow_the_workflow_cache_without_end(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown keys are cached (so a flood costs no queries) but at most `MAX_CACHED` entries are held."""
    monkeypatch.setattr(flows, "MAX_CACHED", 50)
    key = await server.load(chain("end"))
    cache = flows.FlowCache(server.runtime.store, ttl=3600)
    assert await cache.live(key) is not None
    for index in range(500):
        assert await cache.live(f"madeup{index}") is None
    assert len(cache._entries) <= 50
    assert ("key", key) in cache._entries  # the live workflow is kept over the unknown keys
