"""The reference for bench/run.py: a bare Starlette webhook endpoint, no engine and no database.

It does what every webhook handler must do at the least: read and parse the JSON body, then answer a
small JSON document. It serves the same path as hookline so the load generator sends identical requests.

    .venv/bin/python -m uvicorn bare_app:app --app-dir bench \
        --loop uvloop --http httptools --no-access-log --workers 1 --port 8000
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def webhook(request: Request) -> Response:
    """Parse the JSON body and answer `{"ok": true, "id": <order id>}` like the example workflow."""
    body: Any = orjson.loads(await request.body())
    order = body.get("order") if isinstance(body, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    return Response(orjson.dumps({"ok": True, "id": order_id}), media_type="application/json")


async def healthz(request: Request) -> Response:
    """Answer that the server is up (the benchmark waits for this before loading it)."""
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/api/webhook:trigger/{key}", webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)
