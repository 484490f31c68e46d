"""The node drawers: adding and editing nodes with their forms, the variable picker, problems per field."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, Request, expect

from tests._workflows import PAID_CONDITION
from tests.ui._steps import add_node, add_paid_response, pick
from tests.ui.conftest import screenshot

BODY_ITEMS = [{"key": "order.status", "alias": "Order status"}, {"key": "order.id", "alias": "Order id"}]

# The node configs of the example workflow (docs/reference/workflow-json.md#example).
OK_RESPONSE = {
    "statusCode": 200,
    "headers": [{"name": "X-Order", "value": "{{$context.body.order.id}}"}],
    "body": {"ok": True, "id": "{{$context.body.order.id}}"},
}
NO_RESPONSE = {"statusCode": 400, "body": {"ok": False}}


def _workflow(api: httpx.Client, title: str, *, sync: bool) -> dict[str, Any]:
    """A new workflow whose trigger lists the order's status and id as body items."""
    created = api.post("/api/workflows", json={"title": title, "sync": sync}).raise_for_status().json()
    config = {"request": {"body": BODY_ITEMS}}
    api.patch(f"/api/workflows/{created['id']}", json={"config": config}).raise_for_status()
    return dict(created)


def _open(page: Page, workflow: dict[str, Any]) -> None:
    page.goto(f"/#/workflows/{workflow['id']}")
    expect(page.get_by_role("heading", name=workflow["title"])).to_be_visible()


def _messages_gone(page: Page) -> None:
    """Wait until the "Added …" messages go by themselves, so that they hide nothing in a screenshot."""
    expect(page.get_by_role("status").get_by_role("button", name="Dismiss")).to_have_count(0, timeout=15_000)


def _exported_nodes(api: httpx.Client, workflow: dict[str, Any]) -> dict[tuple[str, int | None], Any]:
    exported = api.get(f"/api/workflows/{workflow['id']}/export").raise_for_status().json()
    return {(node["type"], node["branchIndex"]): node for node in exported["nodes"]}


def test_building_the_spec_example_saves_the_spec_configs(signed_in: Page, api: httpx.Client) -> None:
    """A condition and two responses built with the forms and the picker save exactly the configs above."""
    page = signed_in
    workflow = _workflow(api, "Order paid (drawers)", sync=True)
    _open(page, workflow)

    drawer = add_node(page, "at the start", "Condition")
    drawer.get_by_label("Title", exact=True).fill("Paid?")
    row = drawer.get_by_role("group", name="Comparison 1", exact=True)
    pick(page, row, "First value", "Order status")
    expect(row.get_by_label("First value", exact=True)).to_have_value("{{$context.body.order.status}}")
    row.get_by_label("Operator").select_option(label="equals")
    row.get_by_label("Second value", exact=True).fill("paid")
    screenshot(page, "node-condition")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()

    drawer = add_paid_response(page)
    body = drawer.get_by_label("Body (JSON)", exact=True)
    body.fill('{"ok": true, "id": ')
    drawer.get_by_role("button", name="Insert variable into Body (JSON)").click()
    menu = page.get_by_role("menu", name="Variables for Body (JSON)")
    # The condition before this node offers its result too.
    expect(menu.get_by_role("group", name="Paid?").get_by_role("menuitem", name="Result")).to_be_visible()
    screenshot(page, "node-variable-picker")
    menu.get_by_role("menuitem", name="Order id").click()
    page.keyboard.type("}")
    expect(body).to_have_value('{"ok": true, "id": "{{$context.body.order.id}}"}')
    screenshot(page, "node-response")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()

    drawer = add_node(page, "at the start of the No branch of Paid?", "Response")
    drawer.get_by_label("Status code").fill("400")
    drawer.get_by_label("Body (JSON)", exact=True).fill('{"ok": false}')
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()

    expect(
        page.get_by_role("list", name="Yes branch of Paid?").get_by_text("Paid", exact=True)
    ).to_be_visible()
    _messages_gone(page)
    screenshot(page, "canvas-branches")
    nodes = _exported_nodes(api, workflow)
    assert nodes[("condition", None)]["config"] == PAID_CONDITION
    assert nodes[("response", 1)]["config"] == OK_RESPONSE
    assert nodes[("response", 0)]["config"] == NO_RESPONSE
    assert {nodes[("response", 1)]["upstream"], nodes[("response", 0)]["upstream"]} == {
        nodes[("condition", None)]["key"]
    }


def test_problems_show_under_their_fields(signed_in: Page, api: httpx.Client) -> None:
    """The API's problem shows under "Status code"; bad JSON shows under the body without an API call."""
    page = signed_in
    workflow = _workflow(api, "Response problems", sync=True)
    _open(page, workflow)
    calls: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/nodes"):
            calls.append(request.url)

    page.on("request", record)
    drawer = add_node(page, "at the start", "Response")
    status = drawer.get_by_label("Status code")
    status.fill("99")
    drawer.get_by_role("button", name="Save").click()
    expect(status).to_have_attribute("aria-invalid", "true")
    expect(status).to_have_accessible_description(re.compile("^must be an integer between 200 and 599"))
    assert len(calls) == 1
    screenshot(page, "node-response-problem")

    status.fill("201")
    body = drawer.get_by_label("Body (JSON)", exact=True)
    body.fill('{"ok": ')
    drawer.get_by_role("button", name="Save").click()
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_accessible_description(re.compile(r"^is not valid JSON"))
    expect(status).not_to_have_attribute("aria-invalid", "true")
    assert len(calls) == 1, "a JSON syntax error is found without calling the API"
    expect(drawer).to_be_visible()
    assert api.get(f"/api/workflows/{workflow['id']}").json()["nodes"] == []


def test_async_workflows_offer_no_response_and_save_the_end_status(
    signed_in: Page, api: httpx.Client
) -> None:
    """An async workflow's "+" menu has no Response; the End form saves its status and shows it again."""
    page = signed_in
    workflow = _workflow(api, "Async end", sync=False)
    _open(page, workflow)
    page.get_by_role("button", name="Add a node at the start", exact=True).click()
    types = page.get_by_role("menu", name="Node types")
    expect(types.get_by_role("menuitem", name="Condition", exact=True)).to_be_visible()
    expect(types.get_by_role("menuitem", name="Response", exact=True)).to_have_count(0)
    types.get_by_role("menuitem", name="End", exact=True).click()
    drawer = page.get_by_role("dialog", name="End")
    drawer.get_by_label("End status").select_option(label="Failed")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()
    assert _exported_nodes(api, workflow)[("end", None)]["config"] == {"endStatus": "failed"}

    page.get_by_role("button", name="End (End)").click()
    expect(page.get_by_role("dialog", name="End").get_by_label("End status")).to_have_value("failed")


def test_multi_conditions_nest_groups_and_the_picker_works_by_keyboard(
    signed_in: Page, api: httpx.Client
) -> None:
    """Titled conditions with a nested "or" group save their tree; the picker works with the keyboard."""
    page = signed_in
    workflow = _workflow(api, "Order size", sync=True)
    _open(page, workflow)
    drawer = add_node(page, "at the start", "Multi-conditions")
    first = drawer.get_by_role("region", name="Condition 1", exact=True)
    first.get_by_label("Branch title").fill("Big")
    row = first.get_by_role("group", name="Comparison 1", exact=True)
    row.get_by_role("button", name="Insert variable into First value").press("Enter")
    menu = page.get_by_role("menu", name="Variables for First value")
    expect(menu.get_by_role("menuitem", name="Order status")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Order id")).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    expect(row.get_by_label("First value", exact=True)).to_have_value("{{$context.body.order.id}}")
    row.get_by_label("Operator").select_option(label="greater than (>)")
    row.get_by_label("Second value", exact=True).fill("100")
    first.get_by_role("button", name="Add group", exact=True).click()
    group = first.get_by_role("group", name="Group 2", exact=True)
    group.get_by_label("Match, group 2").select_option(label="Match any (or)")
    group.get_by_role("group", name="Comparison 2.1", exact=True).get_by_label(
        "First value", exact=True
    ).fill("a")

    drawer.get_by_role("button", name="Add a condition branch").click()
    second = drawer.get_by_role("region", name="Condition 2", exact=True)
    second.get_by_label("Branch title").fill("Small")
    picker = second.get_by_role("button", name="Insert variable into First value")
    picker.click()
    expect(page.get_by_role("menu", name="Variables for First value")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu", name="Variables for First value")).to_be_hidden()
    expect(picker).to_be_focused()
    expect(drawer).to_be_visible()
    drawer.get_by_label("Continue when nothing matches").check()
    screenshot(page, "node-multi-conditions")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()

    expect(page.get_by_role("list", name="Small branch of Multi-conditions")).to_be_visible()
    assert _exported_nodes(api, workflow)[("multi-conditions", None)]["config"] == {
        "conditions": [
            {
                "title": "Big",
                "engine": "basic",
                "calculation": {
                    "group": {
                        "type": "and",
                        "calculations": [
                            {"calculator": "gt", "operands": ["{{$context.body.order.id}}", "100"]},
                            {
                                "group": {
                                    "type": "or",
                                    "calculations": [{"calculator": "equal", "operands": ["a", ""]}],
                                }
                            },
                        ],
                    }
                },
            },
            {
                "title": "Small",
                "engine": "basic",
                "calculation": {
                    "group": {"type": "and", "calculations": [{"calculator": "equal", "operands": ["", ""]}]}
                },
            },
        ],
        "continueOnNoMatch": True,
    }


def test_a_version_with_executions_shows_its_nodes_read_only(signed_in: Page, api: httpx.Client) -> None:
    """A node of a version that has run opens disabled, without Save, with the note about new versions."""
    page = signed_in
    workflow = _workflow(api, "Frozen condition", sync=True)
    node = {"type": "condition", "title": "Paid?", "config": PAID_CONDITION}
    api.post(f"/api/workflows/{workflow['id']}/nodes", json=node).raise_for_status()
    api.post(f"/api/workflows/{workflow['id']}/enable").raise_for_status()
    api.post(f"/api/webhook:trigger/{workflow['key']}", json={"order": {"status": "paid"}}).raise_for_status()
    _open(page, workflow)
    page.get_by_role("button", name="Paid? (Condition)").click()
    drawer = page.get_by_role("dialog", name="Condition")
    expect(drawer.get_by_text("This version has executions, so it cannot change.")).to_be_visible()
    expect(drawer.get_by_label("Title", exact=True)).to_be_disabled()
    row = drawer.get_by_role("group", name="Comparison 1", exact=True)
    expect(row.get_by_label("First value", exact=True)).to_have_value("{{$context.body.order.status}}")
    expect(row.get_by_label("First value", exact=True)).to_be_disabled()
    expect(row.get_by_label("Operator")).to_be_disabled()
    expect(drawer.get_by_role("button", name="Save")).to_have_count(0)
    expect(drawer.get_by_role("button", name="Add condition")).to_have_count(0)
