"""Steps the UI tests share: set-up through the API, and what a person does in the browser."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.integration._live_server import REPO_ROOT


def unique(prefix: str) -> str:
    """A key or title no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_workflow(api: httpx.Client, title: str, *, sync: bool) -> dict[str, Any]:
    """A new, empty workflow made through the API; its view."""
    answer = api.post("/api/workflows", json={"title": title, "sync": sync})
    assert answer.status_code == 201, answer.text
    workflow: dict[str, Any] = answer.json()
    return workflow


def import_workflow(api: httpx.Client, workflow: dict[str, Any]) -> dict[str, Any]:
    """Import a workflow JSON (a new key, or a new version of an existing key); its view."""
    response = api.post("/api/workflows/import", json=workflow)
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view


def enabled_workflow(api: httpx.Client, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """An enabled synchronous workflow without nodes (it answers 200), with the trigger `config`; its view."""
    empty = {"request": {"headers": [], "query": [], "body": []}}
    document = {
        "key": unique("wf"),
        "title": "Trigger test",
        "type": "webhook",
        "sync": True,
        "enabled": True,
    }
    return import_workflow(api, {**document, "config": config or empty, "nodes": []})


def import_example(api: httpx.Client, name: str = "order-paid.json", **fields: Any) -> dict[str, Any]:
    """Import an example workflow under a fresh key (with `fields` changed); its view."""
    workflow = json.loads((REPO_ROOT / "examples" / name).read_text())
    return import_workflow(api, {**workflow, "key": unique("ex"), **fields})


def exported_nodes(api: httpx.Client, workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The version's nodes as exported, by title."""
    exported = api.get(f"/api/workflows/{workflow['id']}/export").raise_for_status().json()
    return {node["title"]: node for node in exported["nodes"]}


def open_trigger(page: Page, workflow_id: str | int | None = None) -> Locator:
    """Click the trigger card (of the workflow page `workflow_id`, when given); its drawer."""
    if workflow_id is not None:
        page.goto(f"/#/workflows/{workflow_id}")
    page.get_by_role("button", name=re.compile(r"^Trigger")).click()
    drawer = page.get_by_role("dialog", name="Webhook trigger")
    expect(drawer).to_be_visible()
    return drawer


def add_node(page: Page, where: str, type_label: str) -> Locator:
    """Click the "+" at `where` (e.g. "at the start"), pick the type `type_label`; its drawer."""
    page.get_by_role("button", name=f"Add a node {where}", exact=True).click()
    page.get_by_role("menu", name="Node types").get_by_role("menuitem", name=type_label, exact=True).click()
    drawer = page.get_by_role("dialog", name=type_label)
    expect(drawer).to_be_visible()
    return drawer


def open_node(page: Page, title: str, type_label: str) -> Locator:
    """Click the card of the node `title`; its drawer."""
    page.get_by_role("button", name=f"{title} ({type_label})", exact=True).click()
    drawer = page.get_by_role("dialog", name=type_label)
    expect(drawer).to_be_visible()
    return drawer


def add_paid_response(page: Page) -> Locator:
    """Add the Response "Paid" in the Yes branch of "Paid?", with X-Order from the picker; its drawer."""
    drawer = add_node(page, "at the start of the Yes branch of Paid?", "Response")
    drawer.get_by_label("Title", exact=True).fill("Paid")
    drawer.get_by_role("button", name="Add header").click()
    header = drawer.get_by_role("group", name="Header 1", exact=True)
    header.get_by_label("Header 1 name").fill("X-Order")
    pick(page, header, "Header 1 value", "Order id")
    return drawer


def pick(page: Page, scope: Locator, field: str, variable: str) -> None:
    """Insert a variable into `field` from its "Insert variable" menu."""
    scope.get_by_role("button", name=f"Insert variable into {field}", exact=True).click()
    page.get_by_role("menu", name=f"Variables for {field}").get_by_role("menuitem", name=variable).click()


def save(drawer: Locator) -> None:
    """Press Save; wait for the drawer to close and for the page to be drawn again.

    The drawer stays open, showing problems, when saving fails. A click on the page about to be
    replaced would open a menu that the redrawn page then drops.
    """
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()
    expect(drawer.page.locator("#view")).not_to_have_attribute("aria-busy", "true")
