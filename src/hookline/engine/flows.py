"""A short-lived, per-process cache of workflow versions, so a webhook request rarely reads them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import InitVar, dataclass, field

from hookline.answers import DEFAULT_ASYNC_TEMPLATE, AnswerTemplate
from hookline.engine.graph import Graph
from hookline.errors import RejectedRequest
from hookline.models import Flow, Limits
from hookline.nodes.registry import node_type
from hookline.store.base import Store
from hookline.trigger.access import AllowList
from hookline.trigger.config import check_trigger_config
from hookline.trigger.context import ContextPlan, context_plan
from hookline.trigger.options import WorkflowOptions, parse_options
from hookline.trigger.secrets import resolve_secrets
from hookline.trigger.signatures import SignatureCheck, signature_check
from hookline.types import JsonObject


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    """A workflow version with what every request needs of it (graph, context plan, options) built once."""

    flow: Flow
    graph: Graph
    default_queue_limit: int | None = None
    """The `queueLimit` of an asynchronous workflow whose options set none (`HOOKLINE_QUEUE_LIMIT`)."""
    env: InitVar[Mapping[str, str] | None] = None
    """The allowed environment variables, which its `{{$env.NAME}}` secrets are resolved from."""
    config: JsonObject = field(init=False, repr=False)
    """Its trigger config with the `{{$env.NAME}}` secrets resolved: never show, log or store it."""
    locked: RejectedRequest | None = field(init=False)
    """The 401 every request gets while one of those secrets is missing or invalid, else None."""
    signature: SignatureCheck | RejectedRequest | None = field(init=False, repr=False)
    """Its `config.signature` check built once (keys decoded), the 401 of a broken one, or None: off."""
    context: ContextPlan = field(init=False)
    """What the trigger config asks of each request's context (see `build_context`)."""
    options: WorkflowOptions = field(init=False)
    """Its options, parsed: what every reader of them (timeout, limits, dedupe, …) takes."""
    limits: Limits | None = field(init=False)
    """Its `concurrency` and `queueLimit` (or the default queue limit), or None without any."""
    allow_from: AllowList | None = field(init=False)
    """The addresses its requests may come from (`config.allowFrom`), or None: from anywhere."""
    answer: AnswerTemplate = field(init=False)
    """What its trigger answers when it queues a run (asynchronous workflows)."""
    effect_free: bool = field(init=False)
    """No node of it changes anything outside its execution (`NodeType.outside_effects` is False for
    each, and each type is known): running it again after a crash changes nothing."""

    def __post_init__(self, env: Mapping[str, str] | None) -> None:
        workflow = self.flow.workflow
        secrets = resolve_secrets(workflow.config, env or {})
        # Validated again once resolved: a variable must hold a secret in the format its place needs.
        problems = check_trigger_config(secrets.config, sync=workflow.sync) if secrets.names else []
        object.__setattr__(self, "config", secrets.config)
        object.__setattr__(self, "locked", secrets.refusal(problems))
        object.__setattr__(self, "signature", _signature(secrets.config))
        object.__setattr__(self, "context", context_plan(workflow.config))
        options = parse_options(workflow.options)
        default = None if workflow.sync else self.default_queue_limit  # nothing of a sync run waits
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "limits", options.limits(default))
        object.__setattr__(self, "allow_from", AllowList.of(workflow.config))
        # Only an asynchronous workflow answers with its trigger's `response`: a synchronous one
        # never reads it, so nothing in it can break the synchronous workflow's compilation.
        answer = DEFAULT_ASYNC_TEMPLATE if workflow.sync else AnswerTemplate.of(workflow.config)
        object.__setattr__(self, "answer", answer)
        object.__setattr__(self, "effect_free", all(_without_effects(node.type) for node in self.flow.nodes))

    def trigger_config(self) -> JsonObject:
        """The trigger config the request checks use (secrets resolved); a 401 while one is unavailable."""
        locked = self.locked
        if locked is not None:
            # A fresh error each time: a raised instance would keep every traceback it was raised with.
            raise RejectedRequest(locked.status, locked.code, locked.message, detail=locked.detail)
        return self.config

    def signature_check(self) -> SignatureCheck | None:
        """The signature check of its requests, None when it has none; a 401 when it is broken."""
        check = self.signature
        if isinstance(check, RejectedRequest):
            raise RejectedRequest(check.status, check.code, check.message)  # fresh, as trigger_config's
        return check


def _without_effects(name: str) -> bool:
    """Whether nodes of this type change nothing outside their execution (an unknown type may)."""
    kind = node_type(name)
    return kind is not None and not kind.outside_effects


def _signature(config: JsonObject) -> SignatureCheck | RejectedRequest | None:
    """The check of a trigger config's signature setting, or the refusal a broken one means."""
    try:
        return signature_check(config.get("signature"))
    except RejectedRequest as refusal:
        return refusal


MAX_CACHED = 10_000
"""Cached entries one process holds at most: requests to made-up keys must not grow it without end."""


class FlowCache:
    """Remembers workflow versions for `ttl` seconds, by key (the live one) and by id.

    `default_queue_limit` is the queue limit of the asynchronous workflows that set none; `env`
    the allowed environment variables that `{{$env.NAME}}` secrets are resolved from.

    A change made through another process is seen within `ttl` seconds. Unknown keys
    are remembered too, so a flood of requests to a wrong URL does not become a flood
    of queries. Concurrent misses of one entry share a single read.
    """

    def __init__(
        self,
        store: Store,
        ttl: float = 1.0,
        *,
        default_queue_limit: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._default_queue_limit = default_queue_limit
        self._env = env or {}
        self._entries: dict[object, tuple[float, CompiledFlow | None]] = {}
        self._loading: dict[object, asyncio.Future[CompiledFlow | None]] = {}

    @property
    def store(self) -> Store:
        """The store the versions are read from (a captured request is written to it too)."""
        return self._store

    async def live(self, key: str) -> CompiledFlow | None:
        """The current, enabled version of a key, or None."""
        return await self._get(("key", key), lambda: self._store.get_live_flow(key))

    async def current(self, key: str) -> CompiledFlow | None:
        """The current version of a key, enabled or not, or None."""
        return await self._get(("current", key), lambda: self._store.get_current_flow(key))

    async def version(self, workflow_id: int) -> CompiledFlow | None:
        """One workflow version by id, or None."""
        return await self._get(("id", workflow_id), lambda: self._store.get_flow(workflow_id))

    def _evict(self, now: float) -> None:
        """Drop the expired entries; when all are fresh, the unknown keys (a flood of made-up URLs)."""
        self._entries = {entry: held for entry, held in self._entries.items() if held[0] > now}
        if len(self._entries) >= MAX_CACHED:
            self._entries = {entry: held for entry, held in self._entries.items() if held[1] is not None}

    def forget(self, key: str = "") -> None:
        """Drop the cached versions of a key (of every key when `key` is ""); the next request reads them."""
        if not key:
            self._entries.clear()
            return
        for entry, (_, compiled) in list(self._entries.items()):
            if entry in (("key", key), ("current", key)) or (compiled and compiled.flow.workflow.key == key):
                del self._entries[entry]

    async def _get(self, entry: object, load: Callable[[], Awaitable[Flow | None]]) -> CompiledFlow | None:
        cached = self._entries.get(entry)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        pending = self._loading.get(entry)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CompiledFlow | None] = asyncio.get_running_loop().create_future()
        self._loading[entry] = future
        try:
            flow = await load()
            compiled = None
            if flow is not None:
                compiled = CompiledFlow(flow, Graph(flow.nodes), self._default_queue_limit, self._env)
            if len(self._entries) >= MAX_CACHED:
                self._evict(now)
            self._entries[entry] = (now + self._ttl, compiled)
            future.set_result(compiled)
            return compiled
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must log it
            raise
        finally:
            del self._loading[entry]
