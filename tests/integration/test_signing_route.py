"""`POST /api/workflows/{id}/sign` in the real app: the webhook accepts what it signs; no secret leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hookline.types import JsonObject
from tests._workflows import chain
from tests.integration._admin import authorize, error_of, import_
from tests.integration.conftest import Server

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SECRETS = {
    "github": "github-route-secret",
    "shopify": "shpss_route_secret",
    "stripe": "whsec_route_secret",
    "slack": "slack-route-secret",
    "standard-webhooks": "whsec_cm91dGUgc2VjcmV0IG9mIDI0IGJ5dGVzIQ==",
    "twilio": "twilio-route-token",
    "gitlab": "gitlab-route-token",
}
HMAC = {
    "preset": "hmac",
    "secrets": ["hmac-route-secret"],
    "header": "X-Signature",
    "prefix": "sha256=",
    "content": "{timestamp}.{url}.{body}",
    "timestampHeader": "X-Timestamp",
}


@pytest.fixture
async def admin(make_server: Callable[..., Any]) -> AsyncIterator[Server]:
    """A server whose client sends the admin token, allowing one environment variable for secrets."""
    async with make_server(workers=0, env_allow_list=("ROUTE_SIGNING_SECRET",)) as server:
        yield authorize(server)


async def signed_workflow(server: Server, signature: Any) -> JsonObject:
    """Import an enabled synchronous workflow with this `config.signature`; its view."""
    workflow = chain("end", sync=True)
    workflow["config"] = {"signature": signature} if signature is not None else {}
    return await import_(server, workflow)


async def sign(server: Server, workflow: JsonObject, body: str, content_type: str = JSON, **more: str) -> Any:
    """The answer of the sign route for this body (and the `query` in `more`, if any)."""
    return await server.client.post(
        f"/api/workflows/{workflow['id']}/sign", json={"body": body, "contentType": content_type, **more}
    )


async def send(server: Server, signed: JsonObject, body: str, content_type: str) -> Any:
    """Send the test request as the UI does: the body, its type and the signed headers, to the URL given."""
    headers = {"Content-Type": content_type, **signed["headers"]}
    return await server.client.post(signed["url"], content=body.encode(), headers=headers)


CASES = [
    *[
        ({"preset": preset, "secrets": [secret]}, JSON)
        for preset, secret in SECRETS.items()
        if preset != "gitlab"
    ],
    ({"preset": "twilio", "secrets": [SECRETS["twilio"]]}, FORM),
    ({"preset": "slack", "secrets": [SECRETS["slack"]]}, FORM),
    (HMAC, JSON),
]


@pytest.mark.parametrize(
    ("signature", "content_type"), CASES, ids=[f"{case[0]['preset']}-{case[1]}" for case in CASES]
)
async def test_what_the_route_signs_the_webhook_accepts(
    admin: Server, signature: dict[str, Any], content_type: str
) -> None:
    """For every preset but gitlab, a request sent with the signed headers to the URL given runs (200)."""
    workflow = await signed_workflow(admin, signature)
    body = '{"order": {"id": 42}}' if content_type == JSON else "order%5Bid%5D=42&note=caf%C3%A9"
    answer = await sign(admin, workflow, body, content_type)
    assert answer.status_code == 200, answer.text
    assert signature["secrets"][0] not in answer.text
    signed = answer.json()
    assert signed["url"].startswith(workflow["webhook_url"])
    response = await send(admin, signed, body, content_type)
    assert response.status_code == 200, response.text
    tampered = await send(admin, signed, body.replace("42", "43"), content_type)
    assert (tampered.status_code, tampered.json()["error"]["code"]) == (401, "signature_invalid")


QUERY_CASES = [
    ({"preset": "twilio", "secrets": [SECRETS["twilio"]]}, FORM),
    ({"preset": "twilio", "secrets": [SECRETS["twilio"]]}, JSON),
    (HMAC, JSON),
]


@pytest.mark.parametrize(
    ("signature", "content_type"), QUERY_CASES, ids=[f"{case[0]['preset']}-{case[1]}" for case in QUERY_CASES]
)
async def test_a_query_string_is_signed_with_the_url(
    admin: Server, signature: dict[str, Any], content_type: str
) -> None:
    """Twilio and `{url}` sign the URL: the query given is in the URL signed and returned; another fails."""
    workflow = await signed_workflow(admin, signature)
    body = '{"order": {"id": 42}}' if content_type == JSON else "order%5Bid%5D=42"
    answer = await sign(admin, workflow, body, content_type, query="source=shop&note=café au lait")
    assert answer.status_code == 200, answer.text
    signed = answer.json()
    assert signed["url"].startswith(f"{workflow['webhook_url']}?source=shop&note=caf%C3%A9%20au%20lait")
    response = await send(admin, signed, body, content_type)
    assert response.status_code == 200, response.text
    execution = await admin.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    query = execution.context["query"]  # with Twilio's bodySHA256 for a JSON body
    assert (query["source"], query["note"]) == ("shop", "café au lait")
    other = {**signed, "url": signed["url"].replace("source=shop", "source=elsewhere")}
    refused = await send(admin, other, body, content_type)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "signature_invalid")


async def test_a_query_with_its_question_mark_is_a_422(admin: Server) -> None:
    """`query` is the query string without `?`: with it, a 422 at `body.query` says so."""
    workflow = await signed_workflow(admin, {"preset": "twilio", "secrets": [SECRETS["twilio"]]})
    error = error_of(await sign(admin, workflow, "{}", query="?source=shop"), 422)
    assert error["details"] == [
        {"where": "body.query", "message": "must be the query string without its leading ?"}
    ]


async def test_gitlab_is_a_422_that_never_shows_the_token(admin: Server) -> None:
    """GitLab's token is the secret itself: 422 `cannot_sign`, and the answer holds no token."""
    workflow = await signed_workflow(admin, {"preset": "gitlab", "secrets": [SECRETS["gitlab"]]})
    answer = await sign(admin, workflow, "{}")
    assert error_of(answer, 422)["code"] == "cannot_sign"
    assert SECRETS["gitlab"] not in answer.text


async def test_a_workflow_without_a_signature_is_a_422(admin: Server) -> None:
    """Nothing to sign for a workflow that checks no signature: 422 `no_signature`."""
    workflow = await signed_workflow(admin, None)
    assert error_of(await sign(admin, workflow, "{}"), 422)["code"] == "no_signature"


async def test_an_env_secret_is_read_from_the_allowed_environment(
    admin: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `{{$env.NAME}}` secret: 422 naming the variable while it is unset; once set, it signs."""
    monkeypatch.delenv("ROUTE_SIGNING_SECRET", raising=False)
    signature = {"preset": "github", "secrets": ["{{$env.ROUTE_SIGNING_SECRET}}"]}
    workflow = await signed_workflow(admin, signature)
    missing = error_of(await sign(admin, workflow, "{}"), 422)
    assert missing["code"] == "secret_unavailable"
    assert "ROUTE_SIGNING_SECRET" in missing["message"]
    monkeypatch.setenv("ROUTE_SIGNING_SECRET", "value-from-the-environment")
    answer = await sign(admin, workflow, "{}")
    assert answer.status_code == 200, answer.text
    assert "value-from-the-environment" not in answer.text
    assert answer.json()["headers"]["X-Hub-Signature-256"].startswith("sha256=")


async def test_an_unknown_workflow_is_a_404_and_a_bad_body_a_422(admin: Server) -> None:
    """A workflow id nothing has: 404; a body without `body`: 422 naming the field."""
    answer = await admin.client.post("/api/workflows/999999/sign", json={"body": "{}"})
    assert error_of(answer, 404)["code"] == "not_found"
    workflow = await signed_workflow(admin, {"preset": "github", "secrets": [SECRETS["github"]]})
    answer = await admin.client.post(f"/api/workflows/{workflow['id']}/sign", json={"contentType": JSON})
    assert error_of(answer, 422)["code"] == "invalid_request"


async def test_the_route_needs_the_admin_token(admin: Server) -> None:
    """Without the admin token the route answers 401 and signs nothing."""
    workflow = await signed_workflow(admin, {"preset": "github", "secrets": [SECRETS["github"]]})
    del admin.client.headers["Authorization"]
    answer = await sign(admin, workflow, "{}")
    assert error_of(answer, 401)["code"] == "unauthorized"
    assert "X-Hub-Signature-256" not in answer.text
