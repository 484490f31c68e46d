"""The request each benchmark scenario posts (body, content type, headers), for wrk and in-process runs."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

JSON_BODY = b'{"order": {"id": 42, "status": "paid"}}'
FORM_BODY = b"order[id]=42&order[status]=paid"
ORDER_BODY = (
    b'{"order": {"id": 42, "taxRate": 0.2, "items": [{"sku": "A-1", "qty": 2, "price": 9.95}, '
    b'{"sku": "B-7", "qty": 1, "price": 24.5}, {"sku": "C-3", "qty": 3, "price": 4}]}}'
)
"""An order of three items for examples/order-forward.json (three item posts and a summary each)."""
"""The same order as JSON_BODY, as an HTML form posts it: the workflow reads the same paths."""

BASIC_AUTH = "Basic " + base64.b64encode(b"shop:s3cret").decode()
"""The credentials of examples/order-paid.json."""

GITHUB_SECRET = b"bench-github-secret"
"""The signing secret of examples/order-paid-github.json."""


@dataclass(frozen=True, slots=True)
class BenchRequest:
    """What one benchmark request carries besides its URL."""

    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def _github_signature(body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub would send for `body` (it carries no timestamp)."""
    return "sha256=" + hmac.new(GITHUB_SECRET, body, hashlib.sha256).hexdigest()


REQUESTS = {
    "json": BenchRequest(JSON_BODY, "application/json"),
    "json-basic": BenchRequest(JSON_BODY, "application/json", (("Authorization", BASIC_AUTH),)),
    "order": BenchRequest(ORDER_BODY, "application/json"),
    "form-basic": BenchRequest(
        FORM_BODY, "application/x-www-form-urlencoded", (("Authorization", BASIC_AUTH),)
    ),
    "json-github": BenchRequest(
        JSON_BODY, "application/json", (("X-Hub-Signature-256", _github_signature(JSON_BODY)),)
    ),
}
"""The requests by name, as scenarios name them."""
