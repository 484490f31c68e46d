"""The webhook route: `POST /api/webhook:trigger/<key>` — authenticate, parse, run or queue, answer.

It is plain ASGI in front of the Starlette app (`WebhookFirst`) rather than one of its routes:
every webhook request would otherwise pay for the middleware stack, the router, the exception
middleware, a `Request` and a `Response` object. As a route it cost a tenth (sync) to a fifth
(async) more CPU; behind Starlette's middleware, with a `Response` object, 7 % more instructions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from hookline.answers import EncodedAnswer, encode_answer, encode_error
from hookline.api.errors import UNEXPECTED, ThrottledLog
from hookline.api.request_url import PublicUrl, request_url
from hookline.engine.captures import CAPTURED_ANSWER, Captures, captured_request
from hookline.engine.dispatcher import Answered, Dispatcher
from hookline.engine.flows import CompiledFlow, FlowCache
from hookline.engine.rate_limit import RateLimiter
from hookline.errors import HooklineError, NotFound, RejectedRequest
from hookline.ids import new_id
from hookline.metrics import Metrics
from hookline.trigger.access import TrustedProxies, check_api_key, client_address
from hookline.trigger.auth import check_basic_auth
from hookline.trigger.body import DEFAULT_DEPTH_LIMIT, BodyLimits, parse_body
from hookline.trigger.context import build_context
from hookline.trigger.multipart import MultipartBody, is_multipart
from hookline.trigger.query import PARAMETER_LIMIT, parse_query
from hookline.trigger.signatures import SignedRequest
from hookline.trigger.storable import nul_refused
from hookline.trigger.uploads import FileQuota
from hookline.types import JsonObject

PATH_PREFIX = "/api/webhook:trigger/"
"""Every webhook URL's path: this, then the workflow's key."""

ALLOW_POST = {"Allow": "POST"}

WEBHOOK_PORT_EXTRAS = frozenset({"/healthz", "/readyz"})
"""What the webhook port serves besides webhook URLs: the probes a load balancer in front of it needs."""

log = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client disconnected before its request body was read: there is nobody to answer."""


class WebhookEndpoint:
    """Handles every request to a webhook URL; only POST runs anything."""

    def __init__(
        self,
        flows: FlowCache,
        dispatcher: Dispatcher,
        metrics: Metrics,
        *,
        body_limit: int,
        json_depth_limit: int = DEFAULT_DEPTH_LIMIT,
        query_parameter_limit: int = PARAMETER_LIMIT,
        rate_limiter: RateLimiter | None = None,
        trusted_proxies: TrustedProxies | None = None,
        public_url: PublicUrl | None = None,
    ) -> None:
        self._flows = flows
        self._captures = Captures(flows.store, flows)
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._body_limit = body_limit
        self._body_limits = BodyLimits(json_depth_limit, query_parameter_limit)
        self._query_parameter_limit = query_parameter_limit
        self._rate_limiter = rate_limiter or RateLimiter()
        self._trusted_proxies = trusted_proxies or TrustedProxies()
        self._public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        """Answer one webhook request for workflow `key` (errors as hookline's JSON errors), and count it."""
        workflow = ""  # the key, once it names a live workflow: only those become metric labels
        try:
            compiled = await self._live(scope, key)
            workflow = key
            status, headers, body = await self._answer(scope, receive, compiled)
        except HooklineError as error:
            self._metrics.rejected(error.code, workflow)
            log_refusal(scope, workflow, error)
            status, headers, body = encode_error(error)
        except ClientGone:
            return
        except Exception:
            # Nothing was sent yet: answer for the failure, as CatchAll does for the other routes.
            log.exception("%s %s failed", scope["method"], scope["path"])
            status, headers, body = encode_error(UNEXPECTED)
        else:
            self._metrics.answered(key, status)
        await send_answer(send, (status, headers, body))

    async def _live(self, scope: Scope, key: str) -> CompiledFlow:
        """The live workflow of a POST to `key`; 405 for any other method, 404 for an unknown key."""
        if scope["method"] != "POST":
            raise RejectedRequest(
                405, "method_not_allowed", "Webhook URLs only accept POST.", headers=ALLOW_POST
            )
        compiled = await self._flows.live(key)
        if compiled is None:
            raise NotFound("No enabled workflow has this webhook key.")
        return compiled

    async def _answer(self, scope: Scope, receive: Receive, compiled: CompiledFlow) -> EncodedAnswer:
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        wanted = _wanted_headers(headers)
        config = compiled.trigger_config()  # secrets resolved; a 401 while one is unavailable
        # Worked out once, and only for the workflows whose options need it.
        by_client = compiled.allow_from is not None or compiled.options.rate_limit is not None
        client = self._client(scope, headers) if by_client else ""
        first_values = _admit(client, headers, wanted, compiled, config)
        if compiled.options.rate_limit is not None:  # only these pay for a call (a coroutine) per request
            await self._rate_limiter.admit(compiled, client)
        content_type = wanted.get("content-type")
        if is_multipart(content_type):
            return await self._answer_form(scope, receive, compiled, headers, wanted, first_values)
        raw = await read_body(receive, wanted.get("content-length"), self._body_limit)
        if compiled.signature is not None:
            self._check_signature(scope, compiled, first_values, raw)
        body = parse_body(content_type, raw, self._body_limits)
        context = build_context(
            headers, self._query(scope["query_string"]), body, config, plan=compiled.context, raw=raw
        )
        return _encoded(await self._run(scope, wanted, compiled, context))

    def _check_signature(
        self, scope: Scope, compiled: CompiledFlow, first_values: dict[str, str], raw: bytes
    ) -> None:
        """Refuse (401) a request whose body is not signed as the workflow's `config.signature` says."""
        check = compiled.signature_check()
        if check is not None:
            url = request_url(scope, first_values, compiled.flow.workflow.key, self._public_url)
            check.verify(SignedRequest(first_values, raw, url), time.time())

    async def _answer_form(
        self,
        scope: Scope,
        receive: Receive,
        compiled: CompiledFlow,
        headers: list[tuple[str, str]],
        wanted: dict[str, str],
        first_values: dict[str, str],
    ) -> EncodedAnswer:
        """Answer a multipart request: its files are stored as they stream when `request.files` says so.

        They are stored under the id its execution will get, kept with that execution once it is
        recorded, and deleted when it is not (refused, a duplicate, captured).
        """
        config = compiled.config
        execution_id = new_id()
        form = MultipartBody(
            wanted["content-type"],
            self._body_limits,
            sink=self._flows.store,
            quota=FileQuota.of(config),
            execution_id=execution_id,
        )
        try:
            if compiled.signature is not None or compiled.context.raw_body:
                # Read whole (within the body limit) to check its signature, or keep it raw.
                raw = await read_body(receive, wanted.get("content-length"), self._body_limit)
                self._check_signature(scope, compiled, first_values, raw)
                body = await form.parse(raw)
            else:  # streamed: each file's bytes are hashed (and stored) as they arrive, never held whole
                raw = b""
                limit = form.body_limit(self._body_limit)
                body = await form.read(received(receive, wanted.get("content-length"), limit))
            context = build_context(
                headers, self._query(scope["query_string"]), body, config, plan=compiled.context, raw=raw
            )
            answered = await self._run(scope, wanted, compiled, context, execution_id)
            if answered is not None:  # a duplicate recorded nothing: its files go, as a refused one's do
                await form.keep(None if answered.duplicate else answered.execution_id)
        finally:
            await form.release()
        return _encoded(answered)

    async def _run(
        self,
        scope: Scope,
        wanted: dict[str, str],
        compiled: CompiledFlow,
        context: JsonObject,
        execution_id: int | None = None,
    ) -> Answered | None:
        """Run or queue a request (with an idempotency key: or repeat its original's answer).

        None when an armed capture took it instead ("listen for a test request"): nothing runs.
        """
        if compiled.flow.capture_until is not None:
            request = captured_request(
                scope["method"], context, wanted.get("content-type"), datetime.now(UTC)
            )
            if await self._captures.take(compiled, request):
                return None
        workflow = compiled.flow.workflow
        dedupe = compiled.options.dedupe
        if dedupe is not None:
            request_key = dedupe.key(workflow.key, context)
            if request_key is not None:
                return await self._dispatcher.dispatch_once(
                    compiled, context, request_key, execution_id, may_run_now=True
                )
        if workflow.sync:
            result = await self._dispatcher.run_sync(compiled, context, execution_id)
        else:
            result = await self._dispatcher.enqueue(compiled, context, execution_id, may_run_now=True)
        return Answered(result.execution.id, result.answer, duplicate=False)

    def _client(self, scope: Scope, headers: list[tuple[str, str]]) -> str:
        """The client's address: the peer, or behind trusted proxies the client they name."""
        # Every X-Forwarded-For line counts, in order: a proxy may add a line instead of extending one.
        forwarded = ",".join(value for name, value in headers if name == "x-forwarded-for")
        return client_address(scope.get("client"), forwarded or None, self._trusted_proxies)

    def _query(self, raw: bytes) -> JsonObject:
        """The parsed query string; one holding a NUL character (`%00`) cannot be stored and is a 400."""
        if b"%00" in raw:
            raise nul_refused("query")
        return parse_query(raw.decode("latin-1"), parameter_limit=self._query_parameter_limit)


class WebhookFirst(Starlette):
    """The Starlette app, except that webhook URLs go straight to the endpoint `webhook()` gives.

    They skip Starlette's middleware stack, router and exception handling: the endpoint answers
    its own errors, the unexpected ones included.
    """

    def __init__(
        self, *, webhook: Callable[[], WebhookEndpoint], webhook_port: int | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self._webhook = webhook
        self._webhook_port = webhook_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a webhook request, or hand it to Starlette (404 for what this port does not serve)."""
        key = webhook_key(scope) if scope["type"] == "http" else None
        if self._webhook_port is not None and scope["type"] == "http":
            refused = self._not_on_this_port(scope, key)
            if refused is not None:
                await send_answer(send, encode_error(refused))
                return
        if key is None:
            await super().__call__(scope, receive, send)
        else:
            await self._webhook()(scope, receive, send, key)

    def _not_on_this_port(self, scope: Scope, key: str | None) -> HooklineError | None:
        """With a webhook port: webhook URLs (and health) are served there only, everything else elsewhere.

        The port is the one the connection came to (`scope["server"]`), never a header the client sent.
        """
        server = scope.get("server")
        if server is not None and server[1] == self._webhook_port:
            if key is None and scope["path"] not in WEBHOOK_PORT_EXTRAS:
                return NotFound("Only webhook URLs are served on this port.")
        elif key is not None:
            return RejectedRequest(
                404, "webhook_port", f"Webhook URLs are served on port {self._webhook_port}."
            )
        return None


def webhook_key(scope: Scope) -> str | None:
    """The workflow key of a request to a webhook URL (one non-empty path segment), else None."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if not path.startswith(PATH_PREFIX):
        return None
    key = path[len(PATH_PREFIX) :]
    return key if key and "/" not in key else None


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The whole body, refusing with 413 as soon as it would pass `limit` bytes.

    `declared` is the Content-Length header: a body announced as too large is refused unread.
    """
    _check_declared(declared, limit)
    chunk, more = await _next_chunk(receive, 0, limit)
    if not more:
        return chunk  # the usual request: the whole body in one message
    chunks, size = [chunk], len(chunk)
    while more:
        chunk, more = await _next_chunk(receive, size, limit)
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def received(receive: Receive, declared: str | None, limit: int) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive, refusing with 413 as soon as they would pass `limit` bytes.

    For bodies parsed as they stream (multipart); `read_body` reads the others whole.
    """
    _check_declared(declared, limit)
    size, more = 0, True
    while more:
        chunk, more = await _next_chunk(receive, size, limit)
        size += len(chunk)
        if chunk:
            yield chunk


def _check_declared(declared: str | None, limit: int) -> None:
    """Refuse with 413 a body whose Content-Length already passes `limit` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def _next_chunk(receive: Receive, size: int, limit: int) -> tuple[bytes, bool]:
    """The next chunk of a body that has `size` bytes so far, and whether more follow; 413 past `limit`."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    chunk: bytes = message.get("body", b"")
    if size + len(chunk) > limit:
        raise _too_large(limit)
    return chunk, message.get("more_body", False)


def _admit(
    client: str,
    headers: list[tuple[str, str]],
    wanted: dict[str, str],
    compiled: CompiledFlow,
    config: JsonObject,
) -> dict[str, str]:
    """Refuse a request from outside the allow-list (403) or without its credentials (401).

    Gives the headers' first values when a check of the body needs them (its signature), else {}.
    """
    if compiled.allow_from is not None:  # 403 first: a caller from outside learns nothing more
        compiled.allow_from.check(client)
    check_basic_auth(wanted.get("authorization"), config.get("basicAuthentication"))
    api_key = config.get("apiKey")
    first_values = _first_values(headers) if api_key or config.get("signature") else {}
    if api_key:
        check_api_key(api_key, first_values)
    return first_values


def _encoded(answered: Answered | None) -> EncodedAnswer:
    """The answer to a request that was run, queued or repeated; 202 captured for a captured one."""
    if answered is None:
        return encode_answer(CAPTURED_ANSWER)
    return encode_answer(answered.answer, answered.execution_id, duplicate=answered.duplicate)


_READ_HEADERS = frozenset({"authorization", "content-length", "content-type"})


def _wanted_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The first value of the few headers the route itself reads (names arrive lower-case in ASGI)."""
    wanted: dict[str, str] = {}
    for name, value in headers:
        if name in _READ_HEADERS and name not in wanted:
            wanted[name] = value
    return wanted


async def send_answer(send: Send, answer: EncodedAnswer) -> None:
    """Send a whole answer (status, raw headers, body) as its two ASGI messages."""
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _first_values(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Every header's first value by (lower-case) name."""
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name, value)
    return first


def _too_large(limit: int) -> RejectedRequest:
    return RejectedRequest(413, "body_too_large", f"The request body is larger than {limit} bytes.")


_refusals = ThrottledLog()


def log_refusal(scope: Scope, workflow: str, error: HooklineError) -> None:
    """Log a refused webhook request with the client's address and the reason.

    Failed authentication (someone may be guessing) and server-side failures are warnings, the
    other refusals info; each at most one line per workflow and reason every few seconds, with a
    count of the others, so that a flood of bad requests cannot flood the log.
    """
    client = scope.get("client")
    level = logging.WARNING if error.status in (401, 403) or error.status >= 500 else logging.INFO
    _refusals.log(
        level,
        f"{workflow} {error.code}",
        "%s %s from %s answered %s %s: %s",
        scope["method"],
        scope["path"],
        client[0] if client else "unknown",
        error.status,
        error.code,
        error.detail or error.message if isinstance(error, RejectedRequest) else error.message,
    )
