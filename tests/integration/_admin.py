"""Helpers for the admin API tests: the admin token, error answers, and workflows built over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from hookline.api.auth import TOKEN_FILE
from hookline.types import JsonObject

if TYPE_CHECKING:
    # Only a type here: the conftest imports `authorize` for its `api` fixture.
    from tests.integration.conftest import Server

PAID = {"order": {"id": 42, "status": "paid"}}


def authorize(server: Server) -> Server:
    """Make the server's client send the admin token the server saved in its data folder."""
    token = (server.runtime.settings.data_dir / TOKEN_FILE).read_text().strip()
    server.client.headers["Authorization"] = f"Bearer {token}"
    return server


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The `error` object of an answer, after checking its status and shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["code"], str)
    assert error["message"]
    return error


def where(error: dict[str, Any]) -> list[str]:
    """The `where` of each problem an error lists."""
    return [detail["where"] for detail in error["details"]]


async def create(server: Server, **fields: Any) -> JsonObject:
    """Create a workflow through the API (a sync one titled "hook" unless told) and return its view."""
    body = {"title": "hook", "sync": True, **fields}
    response = await server.client.post("/api/workflows", json=body)
    assert response.status_code == 201, response.text
    created: JsonObject = response.json()
    return created


async def import_(server: Server, workflow: JsonObject) -> JsonObject:
    """Import workflow JSON through the API and return the new version's view."""
    response = await server.client.post("/api/workflows/import", json=workflow)
    assert response.status_code == 201, response.text
    imported: JsonObject = response.json()
    return imported


async def add_node(server: Server, workflow_id: str, **fields: Any) -> JsonObject:
    """Add a node through the API and return its view."""
    response = await server.client.post(f"/api/workflows/{workflow_id}/nodes", json=fields)
    assert response.status_code == 201, response.text
    node: JsonObject = response.json()
    return node
