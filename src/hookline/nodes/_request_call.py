"""One HTTP call of the request node: the rendered request, then one attempt at sending it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from hookline.expressions.templates import as_text
from hookline.nodes._request_body import Body, BodyError, encode_body
from hookline.nodes._request_config import RequestOptions
from hookline.nodes._request_redact import Sent, summary
from hookline.nodes._request_response import TooLarge, read_limited, response_result
from hookline.outbound import AddressRefused
from hookline.types import JsonObject, JsonValue

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What a header value may not hold (RFC 9110 §5.5): controls other than HTAB, and DEL."""


class CallError(ValueError):
    """A rendered request that cannot be sent (no http(s) URL, a line break in a header, …)."""


@dataclass(frozen=True, slots=True)
class Call:
    """A request ready to send, and its redacted record."""

    method: str
    url: str
    params: list[Sent]
    headers: list[Sent]
    body: Body
    record: JsonObject


@dataclass(frozen=True, slots=True)
class Received:
    """A complete response: its status, the job's record of it and its `Retry-After`."""

    status: int
    result: JsonObject
    retry_after: str | None


class CallFailed(Exception):
    """No complete response. `network` failures (connect, timeout, reset) may be retried."""

    def __init__(self, message: str, *, network: bool) -> None:
        super().__init__(message)
        self.message = message
        self.network = network


Render = Callable[[JsonValue], JsonValue]


def prepare(config: JsonObject, options: RequestOptions, render: Render, idempotency_key: str) -> Call:
    """Render the URL, parameters, headers and body; `CallError` for what HTTP cannot carry."""
    url = _url(render(config.get("url")))
    params = [Sent(n, as_text(render(t)), t) for n, t in _pairs(config.get("params"))]
    headers = [Sent(n, _header_value(n, render(t)), t) for n, t in _pairs(config.get("headers"))]
    try:
        body = encode_body(options.kind, render(config.get("data")))
    except BodyError as error:
        raise CallError(str(error)) from None
    named = {sent.name.lower() for sent in headers}
    if body.content_type is not None and ("content-type" not in named or options.kind == "multipart"):
        # multipart's boundary is ours, so its Content-Type is too; otherwise the workflow's wins
        headers = [h for h in headers if h.name.lower() != "content-type"]
        headers.append(Sent("Content-Type", body.content_type))
    if options.idempotency_header and options.idempotency_header.lower() not in named:
        headers.append(Sent(options.idempotency_header, idempotency_key))
    record = summary(options.method, config.get("url"), url, params, headers)
    return Call(options.method, url, params, headers, body, record)


def _url(value: JsonValue) -> str:
    text = as_text(value).strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise CallError(f"the URL {text!r} is not valid: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise CallError(f"the URL {text!r} is not an http:// or https:// URL with a host")
    return text


def _pairs(entries: JsonValue) -> list[tuple[str, JsonValue]]:
    if not isinstance(entries, list):
        return []
    return [(str(e["name"]), e.get("value")) for e in entries if isinstance(e, dict) and e.get("name")]


def _header_value(name: str, value: JsonValue) -> str:
    text = as_text(value)
    if _CONTROL.search(text):
        raise CallError(f"the value of header {name!r} holds a control character (a line break?)")
    return text


async def send(client: httpx.AsyncClient, call: Call, seconds: float, limit: int) -> Received:
    """Send once and read the whole response within `seconds`; `CallFailed` when none came."""
    url = httpx.URL(call.url)
    if call.params:  # added to the URL's own query (httpx's `params=` would replace it)
        url = url.copy_merge_params([(p.name, p.value) for p in call.params])
    request = client.build_request(
        call.method,
        url,
        headers=[(h.name, h.value) for h in call.headers],
        content=call.body.content or None,
        timeout=httpx.Timeout(seconds),
    )
    try:
        async with asyncio.timeout(seconds):
            response = await client.send(request, stream=True)
            try:
                content = await read_limited(response, limit)
            finally:
                await response.aclose()
    except AddressRefused as error:
        raise CallFailed(str(error), network=False) from None
    except TooLarge as error:
        raise CallFailed(str(error), network=False) from None
    except (TimeoutError, httpx.TimeoutException):
        raise CallFailed(f"no complete response within {seconds * 1000:.0f} ms", network=True) from None
    except httpx.TooManyRedirects:
        raise CallFailed("too many redirects", network=False) from None
    except httpx.UnsupportedProtocol as error:
        raise CallFailed(f"a redirect led to a URL that is not http(s): {error}", network=False) from None
    except httpx.TransportError as error:
        raise CallFailed(f"{_name(error)}: {error}", network=True) from None
    except httpx.RequestError as error:  # the response could not be decoded, and the like
        raise CallFailed(f"{_name(error)}: {error}", network=False) from None
    return Received(
        response.status_code, response_result(response, content), response.headers.get("retry-after")
    )


def _name(error: Exception) -> str:
    """httpx's exception name as words: ConnectError → "connect error"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(error).__name__).lower()
