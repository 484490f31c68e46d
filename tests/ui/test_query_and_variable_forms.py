"""The JSON query and Variable forms: built in the browser, run, their jobs' results in the execution view."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.ui._steps import new_workflow, pick
from tests.ui.conftest import screenshot

ITEMS = [{"key": "items", "alias": "Items"}, {"key": "n", "alias": "Amount"}]


def _workflow(api: httpx.Client, title: str) -> dict[str, Any]:
    """A new synchronous workflow whose trigger lists the body's `items` and `n`."""
    workflow = new_workflow(api, title, sync=True)
    api.patch(
        f"/api/workflows/{workflow['id']}", json={"config": {"request": {"body": ITEMS}}}
    ).raise_for_status()
    return workflow


def _add(page: Page, where: str, type_name: str) -> Locator:
    """Click the "+" at `where` and pick a node type by its name, whatever its capitals; its drawer."""
    page.get_by_role("button", name=f"Add a node {where}", exact=True).click()
    label = re.compile(f"^{type_name}$", re.IGNORECASE)
    page.get_by_role("menu", name="Node types").get_by_role("menuitem", name=label).click()
    drawer = page.get_by_role("dialog", name=label)
    expect(drawer).to_be_visible()
    return drawer


def _save(drawer: Locator) -> None:
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()


def _nodes(api: httpx.Client, workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The version's nodes as exported, head first."""
    exported = api.get(f"/api/workflows/{workflow['id']}/export").raise_for_status().json()
    return list(exported["nodes"])


def _run(api: httpx.Client, workflow: dict[str, Any], body: Any) -> str:
    """Enable the version, call its webhook once; the execution id."""
    api.post(f"/api/workflows/{workflow['id']}/enable").raise_for_status()
    response = httpx.post(workflow["webhook_url"], json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.headers["X-Hookline-Execution"]


def _result(page: Page, key: str) -> Locator:
    """Open the result of node `key`'s job in the execution view; its text block."""
    job = page.locator(f'[data-node="{key}"]')
    expect(job.locator(".job .badge")).to_have_text("resolved")
    job.get_by_text("Result", exact=True).click()
    return job.locator(".job-result pre")


def test_a_json_query_built_in_the_form_maps_its_result(signed_in: Page, api: httpx.Client) -> None:
    """Engine, a picked source, an expression and two result fields save; the job shows the mapped items."""
    page = signed_in
    workflow = _workflow(api, "Pick items")
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = _add(page, "at the start", "JSON query")
    drawer.get_by_label("Engine").select_option(label="JSONata")
    drawer.get_by_label("Source", exact=True).fill("")
    pick(page, drawer, "Source", "Items")
    expect(drawer.get_by_label("Source", exact=True)).to_have_value("{{$context.body.items}}")
    drawer.get_by_label("Expression").fill("$[price > 10]")
    drawer.get_by_role("button", name="Add field").click()
    drawer.get_by_label("Field 1 path").fill("sku")
    drawer.get_by_label("Field 1 name").fill("code")
    drawer.get_by_role("button", name="Add field").click()
    drawer.get_by_label("Field 2 path").fill("price")
    screenshot(page, "node-json-query")
    _save(drawer)

    [query] = _nodes(api, workflow)
    assert query["config"] == {
        "engine": "jsonata",
        "source": "{{$context.body.items}}",
        "expression": "$[price > 10]",
        "model": [{"path": "sku", "alias": "code"}, {"path": "price"}],
    }
    items = [{"sku": "a", "price": 5}, {"sku": "b", "price": 20}, {"sku": "c", "price": 30}]
    page.goto(f"/#/executions/{_run(api, workflow, {'items': items})}")
    result = _result(page, query["key"])
    expect(result).to_contain_text('"code": "b"')
    expect(result).to_contain_text('"price": 30')


def test_a_syntax_error_shows_under_the_expression(signed_in: Page, api: httpx.Client) -> None:
    """The engine's message about a broken expression shows under the Expression field."""
    page = signed_in
    workflow = _workflow(api, "Broken query")
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = _add(page, "at the start", "JSON query")
    expression = drawer.get_by_label("Expression")
    expression.fill("items[?")
    drawer.get_by_role("button", name="Save").click()
    expect(expression).to_have_attribute("aria-invalid", "true")
    expect(expression).to_have_accessible_description(re.compile("Incomplete expression"))


def test_a_variable_assigned_in_the_form_is_read_downstream(signed_in: Page, api: httpx.Client) -> None:
    """Declare, assign from a picked variable, read it back: the execution shows the assigned value."""
    page = signed_in
    workflow = _workflow(api, "Counter")
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = _add(page, "at the start", "Variable")
    drawer.get_by_label("Title", exact=True).fill("Count")
    drawer.get_by_label("Value (JSON)", exact=True).fill("0")
    _save(drawer)
    [declared] = _nodes(api, workflow)

    drawer = _add(page, "after Count", "Variable")
    drawer.get_by_label("Variable", exact=True).select_option(label=f"Assign to Count ({declared['key']})")
    value = drawer.get_by_label("Value (JSON)", exact=True)
    value.fill("")
    pick(page, drawer, "Value (JSON)", "Amount")
    expect(value).to_have_value('"{{$context.body.n}}"')
    screenshot(page, "node-variable")
    _save(drawer)

    drawer = _add(page, "after Variable", "Variable")
    drawer.get_by_label("Title", exact=True).fill("Read")
    value = drawer.get_by_label("Value (JSON)", exact=True)
    value.fill("")
    drawer.get_by_role("button", name="Insert variable into Value (JSON)").click()
    menu = page.get_by_role("menu", name="Variables for Value (JSON)")
    menu.get_by_role("group", name="Count").get_by_role("menuitem", name="Result").click()
    _save(drawer)

    nodes = _nodes(api, workflow)
    assert nodes[1]["config"] == {"target": declared["key"], "value": "{{$context.body.n}}"}
    assert nodes[2]["config"] == {"target": None, "value": f"{{{{$jobsMapByNodeKey.{declared['key']}}}}}"}
    page.goto(f"/#/executions/{_run(api, workflow, {'n': 5})}")
    expect(_result(page, nodes[2]["key"])).to_have_text("5")
    expect(_result(page, declared["key"])).to_have_text("0")
