"""Signed webhook requests through the real app: a good signature runs, a bad one is a 401 (nothing kept).

Stripe and Twilio requests are signed by their own libraries; the generic hmac scheme by Python's hmac.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe
from twilio.request_validator import RequestValidator

from hookline.store.execution_history import ExecutionFilter
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


TWILIO_TOKEN = "twilio-auth-token-integration"
CALL = {"CallSid": "CA42", "From": "+4917012345", "Body": "café + more"}
FORM = "application/x-www-form-urlencoded"


@asynccontextmanager
async def twilio_server(
    make_server: Callable[..., Any], **settings: Any
) -> AsyncIterator[tuple[Server, str]]:
    """A server (with these settings) and the key of a synchronous Twilio-signed workflow."""
    workflow = chain("end", sync=True)
    workflow["config"] = {"signature": {"preset": "twilio", "secrets": [TWILIO_TOKEN]}}
    async with make_server(workers=0, **settings) as server:
        yield server, await server.load(workflow)


def twilio_signature(url: str, params: Any, token: str = TWILIO_TOKEN) -> str:
    """X-Twilio-Signature as Twilio's own library computes it."""
    return str(RequestValidator(token).compute_signature(url, params))


async def test_a_twilio_form_signed_for_the_url_called_runs(make_server: Callable[..., Any]) -> None:
    """A form POST signed by Twilio's library for the URL it was sent to (query included) is accepted."""
    async with twilio_server(make_server) as (server, key):
        url = f"http://hookline.test/api/webhook:trigger/{key}?kind=sms"
        headers = {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(url, CALL)}
        response = await server.client.post(url, content=urlencode(CALL), headers=headers)
        assert response.status_code == 200, response.text
        changed = urlencode({**CALL, "From": "+4900000000"})
        response = await server.client.post(url, content=changed, headers=headers)
        assert response.json()["error"]["code"] == "signature_invalid"
        assert len(await executions(server)) == 1


async def test_a_twilio_json_body_is_checked_by_its_hash(make_server: Callable[..., Any]) -> None:
    """A JSON body signed through `bodySHA256` in the URL runs; the same URL with another body is a 401."""
    async with twilio_server(make_server) as (server, key):
        body = '{"event": "call.completed"}'
        digest = RequestValidator(TWILIO_TOKEN).compute_hash(body)
        url = f"http://hookline.test/api/webhook:trigger/{key}?bodySHA256={digest}"
        headers = {"Content-Type": "application/json", "X-Twilio-Signature": twilio_signature(url, {})}
        assert (await server.client.post(url, content=body, headers=headers)).status_code == 200
        response = await server.client.post(
            url, content=body.replace("completed", "ringing"), headers=headers
        )
        assert (response.status_code, response.json()["error"]["code"]) == (401, "signature_invalid")


async def test_twilio_is_checked_against_the_public_url(make_server: Callable[..., Any]) -> None:
    """With HOOKLINE_PUBLIC_URL set, the signed URL is the public one, not the one the request reached."""
    async with twilio_server(make_server, public_url="https://hooks.example.com") as (server, key):
        public = f"https://hooks.example.com/api/webhook:trigger/{key}"
        headers = {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(public, CALL)}
        assert (await server.post(key, content=urlencode(CALL), headers=headers)).status_code == 200
        internal = f"http://hookline.test/api/webhook:trigger/{key}"
        headers["X-Twilio-Signature"] = twilio_signature(internal, CALL)
        response = await server.post(key, content=urlencode(CALL), headers=headers)
        assert (response.status_code, response.json()["error"]["code"]) == (401, "signature_invalid")


HMAC_SECRET = "hmac-integration-secret"


def hmac_headers(body: bytes, timestamp: int, request_id: str = "req-1") -> dict[str, str]:
    """Headers of the generic scheme below, signed with Python's hmac as a sender would."""
    content = f"{timestamp}.{request_id}.".encode() + body
    signature = hmac.new(HMAC_SECRET.encode(), content, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Request-Id": request_id,
        "X-Timestamp": str(timestamp),
        "X-Acme-Signature": f"v1={signature}",
    }


async def test_the_generic_hmac_scheme_runs_signed_requests_only(make_server: Callable[..., Any]) -> None:
    """A generic hmac setting (timestamp and a header in the content) accepts its requests, refusing
    old ones as expired and changed ones as invalid; the signature header is not stored."""
    workflow = chain("end", sync=True)
    workflow["config"] = {
        "signature": {
            "preset": "hmac",
            "secrets": [HMAC_SECRET],
            "header": "X-Acme-Signature",
            "prefix": "v1=",
            "content": "{timestamp}.{headers.x-request-id}.{body}",
            "timestampHeader": "X-Timestamp",
            "tolerance": 60,
        }
    }
    async with make_server(workers=0) as server:
        key = await server.load(workflow)
        now = int(time.time())
        assert (await server.post(key, content=BODY, headers=hmac_headers(BODY, now))).status_code == 200
        (execution,) = await executions(server)
        assert execution.context["headers"]["x-acme-signature"] == REDACTED
        refusals = [
            (hmac_headers(BODY, now - 600), "signature_expired"),
            ({**hmac_headers(BODY, now), "X-Request-Id": "req-2"}, "signature_invalid"),
            ({"Content-Type": "application/json"}, "signature_missing"),
        ]
        for headers, code in refusals:
            response = await server.post(key, content=BODY, headers=headers)
            assert (response.status_code, response.json()["error"]["code"]) == (401, code)
        assert len(await executions(server)) == 1
