"""`/api/workflows/{id}/sign`: sign the UI's test request as the workflow's sender would."""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import AfterValidator, Field

from hookline.api.routes import RuntimeDep, WorkflowId, error_answers, path_id, webhook_url
from hookline.api.schemas import RequestModel, ResponseModel
from hookline.errors import NotFound
from hookline.expressions.scope import env_allow_list
from hookline.runtime import Runtime
from hookline.trigger.secrets import resolve_secrets
from hookline.trigger.signatures import signature_problems
from hookline.trigger.signing import CannotSign, sign_request, with_query
from hookline.types import JsonObject

router = APIRouter(prefix="/workflows", tags=["workflows"], responses=error_answers(401, 422))


def _without_mark(query: str) -> str:
    """A query string as the route takes it: without the `?` that starts it in a URL."""
    if query.startswith("?"):
        raise ValueError("must be the query string without its leading ?")
    return query


class SignBody(RequestModel):
    """A test request's body as text (sent as UTF-8), and the Content-Type and query it will be sent with."""

    body: str = Field(examples=['{"order": {"id": 42}}'])
    contentType: str = Field(  # the request header's own name, as the UI sends it
        "application/json", examples=["application/x-www-form-urlencoded"]
    )
    query: Annotated[str, AfterValidator(_without_mark)] = Field(
        "",
        description="The query string the request will be sent with, without `?`; it is part of the "
        "signed URL (Twilio, and `{url}` in the generic scheme).",
        examples=["source=shop&order[id]=42"],
    )


class SignedOut(ResponseModel):
    """What to send: the headers the sender would add, and the URL to send them to, query and all."""

    headers: dict[str, str] = Field(
        description="The signature headers (and timestamp or id headers) the sender would send.",
        examples=[{"Stripe-Signature": "t=1767000000,v1=5257a869…"}],
    )
    url: str = Field(
        description="The webhook URL to send the request to, with the query string given; Twilio "
        "adds `bodySHA256` to it for a body that is not a form."
    )


@router.post(
    "/{workflow_id}/sign",
    summary="Sign a test request as the workflow's sender would",
    response_model=SignedOut,
    responses=error_answers(400, 404),
)
async def sign_test_request(
    request: Request, runtime: RuntimeDep, workflow_id: WorkflowId, body: SignBody
) -> JsonObject:
    """The headers that `config.signature`'s sender would send with this body and query string,
    signed with its first secret, and the URL to send it to. 422 when the workflow checks no
    signature, when its preset is `gitlab` (its token is the secret itself, never shown), or when a
    `{{$env.NAME}}` secret is not set."""
    # As stored, secrets in clear (the admin's views mask them): they sign, and are never shown.
    flow = await runtime.store.get_flow(path_id(workflow_id, "workflow"))
    if flow is None:
        raise NotFound(f"No workflow version has the id {workflow_id}.")
    workflow = flow.workflow
    setting = _resolved(runtime, workflow.config.get("signature"))
    url = with_query(webhook_url(request, runtime, workflow.key), body.query)
    signed = sign_request(setting, body.body.encode(), body.contentType, url, time.time())
    return {"headers": signed.headers, "url": signed.url}


def _resolved(runtime: Runtime, setting: Any) -> Any:
    """The signature setting with its `{{$env.NAME}}` secrets read from the allowed environment."""
    env = env_allow_list(runtime.settings.env_allow_list, os.environ)
    resolved = resolve_secrets({"signature": setting}, env)
    refusal = resolved.refusal(signature_problems(resolved.config["signature"]))
    if refusal is not None:  # the message names the variable, never a value
        raise CannotSign(refusal.code, refusal.detail or refusal.message)
    return resolved.config["signature"]
