"""Query strings parsed with the semantics of JavaScript `qs`, as NocoBase parses them.

NocoBase calls `qs.parse(raw, {strictNullHandling: true, arrayLimit: 100, depth: 5})`; `_qs`
takes qs's steps in time linear in the query, so the longest query a client may send costs at
most a few milliseconds of the event loop (`bench/query_cost.py` prints the figures).
"""

from __future__ import annotations

from typing import Any

from hookline.errors import RejectedRequest
from hookline.trigger import _qs
from hookline.trigger._qs import DEPTH, LIST_LIMIT

__all__ = ["DEPTH", "LIST_LIMIT", "PARAMETER_LIMIT", "parse_form", "parse_query"]

PARAMETER_LIMIT = 1000
"""The most `&`-separated pairs a query may have (qs `parameterLimit`); more is refused with 414."""


def parse_query(raw: str, *, parameter_limit: int = PARAMETER_LIMIT) -> dict[str, Any]:
    """Parse a query (a leading `?` is dropped) like `qs.parse` with NocoBase's options.

    Raises RejectedRequest (414 `too_many_query_parameters`) when the query has more than
    `parameter_limit` pairs, counted as qs splits them: on `&`, empty parts skipped. Where qs
    would drop the pairs past its limit, hookline refuses the request rather than run a workflow
    on part of what the sender sent.
    """
    query = raw[1:] if raw.startswith("?") else raw
    parts = [part for part in query.split("&") if part]
    if len(parts) > parameter_limit:
        message = f"The query string has more than {parameter_limit} parameters."
        raise RejectedRequest(414, "too_many_query_parameters", message)
    return _qs.parse(parts)


def parse_form(text: str, *, encoding: str = "utf-8", field_limit: int = PARAMETER_LIMIT) -> dict[str, Any]:
    """Parse an `application/x-www-form-urlencoded` body by the query's qs rules (nested names too).

    Percent-escapes are bytes in `encoding`, the body's charset. More than `field_limit` fields
    is refused (400 `too_many_form_fields`), as too many query parameters are.
    """
    parts = [part for part in text.split("&") if part]
    if len(parts) > field_limit:
        message = f"The form body has more than {field_limit} fields."
        raise RejectedRequest(400, "too_many_form_fields", message)
    return _qs.parse(parts, encoding)
