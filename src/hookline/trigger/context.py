"""The trigger context of an execution: the request's headers, query and body as workflows see them.

With `config.request.rawBody: true` it also keeps the body as received: `rawBody` is its text when
it decodes in the charset its Content-Type names (UTF-8 when none) and holds no NUL character,
with `rawBodyEncoding: "text"`; otherwise it is the bytes in base64, with `rawBodyEncoding:
"base64"`. Off by default: it doubles what each execution stores.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookline.errors import RejectedRequest
from hookline.expressions.templates import resolve_path
from hookline.trigger.access import api_key_header
from hookline.trigger.body import charset, decoded_text
from hookline.types import JsonValue

REDACTED = "[redacted]"
"""What a credential header's value is replaced with in the context."""

REDACTED_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "proxy-authorization",
        # API keys, and the signatures (or shared tokens) of the common webhook senders: a
        # signature over a body is a replayable credential for that body.
        "x-api-key",
        "x-hub-signature",
        "x-hub-signature-256",
        "stripe-signature",
        "x-slack-signature",
        "x-shopify-hmac-sha256",
        "x-twilio-signature",
        "x-gitlab-token",
        "webhook-signature",
        "svix-signature",
    }
)
"""Header names (lower-case) whose values are credentials, never stored in an execution.

A workflow adds its own: the configured signature header, and header items marked `"secret": true`.
"""

REQUEST_PARTS = ("headers", "query", "body")
"""The parts of `config.request` that list configured items."""


@dataclass(frozen=True, slots=True)
class ContextPlan:
    """What a trigger config asks of every request's context, worked out once per config."""

    redacted: frozenset[str]
    """Lower-case header names whose values are redacted."""
    header_names: tuple[str, ...]
    """Lower-case names of the configured headers, present in the context even when absent."""
    query_vars: tuple[tuple[str, str], ...]
    """(flat name, path) of the query items with a `_var`."""
    body_vars: tuple[tuple[str, str], ...]
    """(flat name, path) of the body items with a `_var`."""
    raw_body: bool = False
    """Whether the context keeps the body as received (`config.request.rawBody`)."""


def context_plan(config: Mapping[str, Any]) -> ContextPlan:
    """The plan of a trigger config; a workflow keeps it while it stays cached."""
    return ContextPlan(
        redacted=redacted_header_names(config),
        header_names=tuple(item["key"].lower() for item in configured_items(config, "headers")),
        query_vars=_flat_names(configured_items(config, "query")),
        body_vars=_flat_names(configured_items(config, "body")),
        raw_body=_wants_raw_body(config),
    )


def build_context(
    headers: Sequence[tuple[str, str]],
    query: JsonValue,
    body: JsonValue,
    config: Mapping[str, Any],
    *,
    plan: ContextPlan | None = None,
    raw: bytes = b"",
) -> dict[str, Any]:
    """The `{"headers", "query", "body"}` context of a request, per the trigger config.

    The contract: docs/reference/trigger.md#the-trigger-context.

    `plan` is `context_plan(config)` when the caller has it already; `raw` is the body as received,
    kept as `rawBody` when the config asks for it.
    """
    if plan is None:
        plan = context_plan(config)
    context: dict[str, Any] = {
        "headers": _context_headers(headers, plan),
        "query": _with_flat_names(query, plan.query_vars),
        "body": _with_flat_names(body, plan.body_vars),
    }
    if plan.raw_body:
        context["rawBody"], context["rawBodyEncoding"] = raw_body(raw, _content_type(headers))
    return context


def raw_body(raw: bytes, content_type: str | None) -> tuple[str, str]:
    """The body as received and how it is written: `(text, "text")`, or `(base64, "base64")` when it
    is not text in its charset or holds a NUL character (which storage cannot keep as text)."""
    try:
        return decoded_text(raw, charset(content_type)), "text"
    except RejectedRequest:  # not text, an unknown charset, or NUL: bytes survive only as base64
        return base64.b64encode(raw).decode("ascii"), "base64"


def configured_items(config: Mapping[str, Any], part: str) -> list[dict[str, str]]:
    """The well-formed `{"key", "alias"?, "_var"?}` items of `config.request.<part>`; others are skipped."""
    request = config.get("request")
    items = request.get(part) if isinstance(request, Mapping) else None
    if not isinstance(items, list):
        return []
    return [clean for item in items if (clean := _clean_item(item)) is not None]


def redacted_header_names(config: Mapping[str, Any]) -> frozenset[str]:
    """The lower-case header names to redact: credentials, the configured signature header, and the
    header items marked `"secret": true`."""
    names = set(REDACTED_HEADERS)
    signature = config.get("signature")
    header = signature.get("header") if isinstance(signature, Mapping) else None
    if isinstance(header, str) and header:
        names.add(header.lower())
    api_key = api_key_header(config)
    if api_key is not None:
        names.add(api_key)
    request = config.get("request")
    items = request.get("headers") if isinstance(request, Mapping) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and item.get("secret") is True and isinstance(item.get("key"), str):
            names.add(item["key"].lower())
    return frozenset(names)


def _wants_raw_body(config: Mapping[str, Any]) -> bool:
    """Whether `config.request.rawBody` is true."""
    request = config.get("request")
    return isinstance(request, Mapping) and request.get("rawBody") is True


def _content_type(headers: Sequence[tuple[str, str]]) -> str | None:
    """The first Content-Type header's value, if any."""
    return next((value for name, value in headers if name.lower() == "content-type"), None)


def _clean_item(item: Any) -> dict[str, str] | None:
    """An item with its string fields only, or None when it has no usable key."""
    if not isinstance(item, Mapping):
        return None
    key = item.get("key")
    if not isinstance(key, str) or not key:
        return None
    clean = {"key": key}
    for field in ("alias", "_var"):
        value = item.get(field)
        if isinstance(value, str) and value:
            clean[field] = value
    return clean


def _context_headers(headers: Sequence[tuple[str, str]], plan: ContextPlan) -> dict[str, str | None]:
    """Every header by lower-case name, credentials redacted, configured names present even when absent."""
    redacted = plan.redacted
    result: dict[str, str | None] = {}
    repeated: dict[str, list[str]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in redacted:
            result[lower] = REDACTED
        elif lower not in result:
            result[lower] = value
        elif lower in repeated:
            repeated[lower].append(value)
        else:
            repeated[lower] = [result[lower] or "", value]
    # HTTP allows a repeated header to be folded into one, comma-separated (RFC 9110 §5.3); joined
    # once at the end, since joining as they come costs the square of their number.
    for lower, values in repeated.items():
        result[lower] = ", ".join(values)
    for name in plan.header_names:
        result.setdefault(name, None)
    return result


def _flat_names(items: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    """(flat name, path) of the items that have a `_var`, in order."""
    return tuple((item["_var"], item["key"]) for item in items if "_var" in item)


def _with_flat_names(value: JsonValue, flat_names: tuple[tuple[str, str], ...]) -> JsonValue:
    """A copy of a parsed query or body with each `_var` item's value also under its flat name."""
    if not isinstance(value, dict):
        return value
    flat = {name: resolve_path(value, path) for name, path in flat_names}
    return {**value, **flat}
