"""Signed webhook requests through the real app: a good signature runs, a bad one is a 401 (nothing kept)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import stripe

from hookline.store.base import ExecutionFilter
from hookline.trigger.config import check_trigger_config
from hookline.trigger.context import REDACTED
from tests._workflows import chain
from tests.integration.conftest import Server

SECRET = "whsec_integration"
BODY = b'{"order": {"id": 42}}'


@pytest.fixture(params=[False, True], ids=["async", "sync"])
async def served(
    request: pytest.FixtureRequest, make_server: Callable[..., Any]
) -> AsyncIterator[tuple[Server, str]]:
    """A server with a Stripe-signed workflow of one End node, asynchronous and synchronous."""
    workflow = chain("end", sync=request.param)
    workflow["config"] = {"signature": {"preset": "stripe", "secrets": ["whsec_old", SECRET]}}
    async with make_server(workers=0) as server:
        yield server, await server.load(workflow)


async def executions(server: Server) -> list[Any]:
    """The executions the server recorded."""
    return await server.runtime.store.list_executions(ExecutionFilter(limit=100))


def stripe_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """Headers signed by Stripe's own library, now."""
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, int(time.time()))
    return {"Content-Type": "application/json", "Stripe-Signature": header}


async def test_a_signed_request_runs_and_its_signature_is_not_stored(served: tuple[Server, str]) -> None:
    """A request Stripe's library signed is accepted; the stored context holds no signature."""
    server, key = served
    response = await server.post(key, content=BODY, headers=stripe_headers(BODY))
    assert response.status_code in (200, 202), response.text
    (execution,) = await executions(server)
    assert execution.context["headers"]["stripe-signature"] == REDACTED


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Content-Type": "application/json"}, "signature_missing"),
        (stripe_headers(BODY + b" "), "signature_invalid"),
        (stripe_headers(BODY, "whsec_wrong"), "signature_invalid"),
    ],
)
async def test_a_bad_signature_is_a_401_that_records_nothing(
    served: tuple[Server, str], headers: dict[str, str], code: str
) -> None:
    """Unsigned, tampered or wrongly keyed: 401 with the reason, no execution, nothing queued."""
    server, key = served
    response = await server.post(key, content=BODY, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert SECRET not in response.text
    assert await executions(server) == []


def test_a_bad_signature_setting_is_a_trigger_config_problem() -> None:
    """A trigger config with an unknown signature preset does not validate."""
    problems = check_trigger_config({"signature": {"preset": "nope", "secrets": ["s"]}}, sync=True)
    assert [p.where for p in problems] == ["config.signature.preset"]
