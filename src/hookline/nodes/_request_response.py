"""The request node's view of a response: read within a limit, then `{status, statusText, headers, data}`."""

from __future__ import annotations

import base64

import httpx
import orjson

from hookline.types import JsonObject, JsonValue

MAX_DATA_DEPTH = 128
"""JSON nested deeper is kept as text: a job's result must stay within what storage can write."""
_TEXT_TYPES = (
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/ecmascript",
    "application/x-ndjson",
    "application/yaml",
    "application/xml",
)


class TooLarge(Exception):
    """A response body over `maxResponseBytes`; it was never read whole."""


async def read_limited(response: httpx.Response, limit: int) -> bytes:
    """The (decompressed) body, read in chunks; `TooLarge` as soon as it goes past `limit` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the response declares {declared} bytes, more than maxResponseBytes ({limit})")
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"the response is larger than maxResponseBytes ({limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def response_result(response: httpx.Response, content: bytes) -> JsonObject:
    """The job's record of a response; binary data is base64 text, flagged `"dataEncoding": "base64"`."""
    data, binary = decode_data(response.headers.get("content-type"), content, response.charset_encoding)
    result: JsonObject = {
        "status": response.status_code,
        "statusText": response.reason_phrase,
        "headers": dict(response.headers.items()),  # lower-case names; repeated ones joined by ", "
        "data": data,
    }
    if binary:
        result["dataEncoding"] = "base64"
    return result


def decode_data(content_type: str | None, content: bytes, charset: str | None) -> tuple[JsonValue, bool]:
    """The data of a body and whether it is base64: JSON parsed, text decoded, other bytes as base64.

    A body without a Content-Type is JSON if it parses, else text if it is UTF-8, else binary.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not content:
        return "", False
    if media == "application/json" or media.endswith("+json") or not media:
        parsed = _json(content)
        if parsed is not _NOT_JSON:
            return parsed, False
    if media.startswith("text/") or media.endswith(("+json", "+xml", "/json")) or media in _TEXT_TYPES:
        return _decoded(content, charset), False
    if not media:
        try:
            return content.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(content).decode("ascii"), True


_NOT_JSON = object()


def _json(content: bytes) -> object:
    try:
        value: JsonValue = orjson.loads(content)
    except orjson.JSONDecodeError:
        return _NOT_JSON
    return value if _depth_within(value, MAX_DATA_DEPTH) else _NOT_JSON


def _decoded(content: bytes, charset: str | None) -> str:
    try:
        return content.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", errors="replace")


def _depth_within(value: JsonValue, limit: int) -> bool:
    """Whether containers nest at most `limit` deep (iterative: no recursion on hostile data)."""
    stack: list[tuple[JsonValue, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True
