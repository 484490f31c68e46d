"""The webhook route: `POST /api/webhook:trigger/<key>` — authenticate, parse, run or queue, answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hookline.engine.dispatcher import Dispatcher
from hookline.engine.flows import CompiledFlow, FlowCache
from hookline.errors import HooklineError, NotFound, RejectedRequest
from hookline.metrics import Metrics
from hookline.trigger.auth import check_basic_auth
from hookline.trigger.body import parse_body
from hookline.trigger.context import build_context
from hookline.trigger.dedupe import DUPLICATE_HEADER, RequestKey
from hookline.trigger.query import parse_query
from hookline.trigger.responses import to_response
from hookline.types import JsonObject

ALLOW_POST = {"Allow": "POST"}


class WebhookEndpoint:
    """Handles every request to a webhook URL; only POST runs anything."""

    def __init__(
        self, flows: FlowCache, dispatcher: Dispatcher, metrics: Metrics, *, body_limit: int
    ) -> None:
        self._flows = flows
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._body_limit = body_limit

    async def __call__(self, request: Request) -> Response:
        """Answer one webhook request (errors are raised and rendered by the app), and count it."""
        try:
            response, key = await self._answer(request)
        except HooklineError as error:
            self._metrics.rejected(error.code)
            raise
        self._metrics.answered(key, response.status_code)
        return response

    async def _answer(self, request: Request) -> tuple[Response, str]:
        if request.method != "POST":
            raise RejectedRequest(
                405, "method_not_allowed", "Webhook URLs only accept POST.", headers=ALLOW_POST
            )
        key = request.path_params["key"]
        compiled = await self._flows.live(key)
        if compiled is None:
            raise NotFound("No enabled workflow has this webhook key.")
        config = compiled.flow.workflow.config
        check_basic_auth(request.headers.get("authorization"), config.get("basicAuthentication"))
        raw = await read_body(request, self._body_limit)
        context = build_context(
            request.headers.items(),
            parse_query(request.scope["query_string"].decode("latin-1")),
            parse_body(request.headers.get("content-type"), raw),
            config,
            plan=compiled.context,
        )
        workflow = compiled.flow.workflow
        dedupe = compiled.dedupe
        if dedupe is not None:
            request_key = dedupe.key(workflow.key, context)
            if request_key is not None:
                return await self._answer_once(compiled, context, request_key), key
        if workflow.sync:
            result = await self._dispatcher.run_sync(compiled, context)
        else:
            result = await self._dispatcher.enqueue(compiled, context)
        return to_response(result.answer, result.execution.id), key

    async def _answer_once(
        self, compiled: CompiledFlow, context: JsonObject, request_key: RequestKey
    ) -> Response:
        """Run a request with an idempotency key, or repeat the original's answer (marked as such)."""
        answered = await self._dispatcher.dispatch_once(compiled, context, request_key)
        response = to_response(answered.answer, answered.execution_id)
        if answered.duplicate:
            response.headers[DUPLICATE_HEADER] = "true"
        return response


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing with 413 as soon as it would pass `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> RejectedRequest:
    return RejectedRequest(413, "body_too_large", f"The request body is larger than {limit} bytes.")
