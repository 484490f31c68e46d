"""A response that continues in the background, the subflow form, and links between parent and child runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.ui._contrast import low_contrast
from tests.ui._steps import (
    add_node,
    exported_nodes,
    import_workflow,
    new_workflow,
    open_node,
    pick,
    save,
    unique,
)
from tests.ui.conftest import screenshot

ORDER_FIELDS = [{"key": "order.id", "alias": "Order id"}]


def node(key: str, kind: str, upstream: str | None, config: dict[str, Any]) -> dict[str, Any]:
    """One node of a workflow JSON, on the main chain."""
    return {
        "key": key,
        "type": kind,
        "title": key,
        "upstream": upstream,
        "branchIndex": None,
        "config": config,
    }


def workflow_json(title: str, *, sync: bool, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """An enabled workflow JSON under a fresh key, listing the order id in its trigger, with `nodes`."""
    return {
        "key": unique("sub"),
        "title": title,
        "type": "webhook",
        "sync": sync,
        "enabled": True,
        "config": {"request": {"headers": [], "query": [], "body": ORDER_FIELDS}},
        "nodes": nodes,
    }


def test_only_a_response_that_continues_can_have_a_node_below_it(signed_in: Page, api: httpx.Client) -> None:
    """No "+" under a plain response; one that continues gets it, and cannot stop while a node follows."""
    page = signed_in
    workflow = new_workflow(api, "Answer early", sync=True)
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = add_node(page, "at the start", "Response")
    drawer.get_by_label("Title", exact=True).fill("Accepted")
    continues = drawer.get_by_label("Answer now and continue in the background", exact=True)
    expect(continues).not_to_be_checked()
    expect(continues).to_have_accessible_description(re.compile("run afterwards"))
    save(drawer)
    expect(page.get_by_role("button", name="Accepted (Response)", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Add a node after Accepted", exact=True)).to_have_count(0)
    assert "continue" not in exported_nodes(api, workflow)["Accepted"]["config"]

    drawer = open_node(page, "Accepted", "Response")
    expect(page.locator(".node.type-response .node-meta")).not_to_contain_text("goes on")
    drawer.get_by_label("Answer now and continue in the background", exact=True).check()
    save(drawer)
    expect(page.locator(".node.type-response .node-meta")).to_contain_text("answers, then goes on")
    drawer = add_node(page, "after Accepted", "End")
    drawer.get_by_label("Title", exact=True).fill("Done")
    save(drawer)
    screenshot(page, "flow-response-continues")
    assert low_contrast(page) == []

    nodes = exported_nodes(api, workflow)
    assert nodes["Accepted"]["config"] == {"statusCode": 200, "body": {}, "continue": True}
    assert nodes["Done"]["upstream"] == nodes["Accepted"]["key"]
    page.reload()
    drawer = open_node(page, "Accepted", "Response")
    continues = drawer.get_by_label("Answer now and continue in the background", exact=True)
    expect(continues).to_be_checked()
    continues.uncheck()
    drawer.get_by_role("button", name="Save").click()
    expect(continues).to_have_attribute("aria-invalid", "true")
    expect(continues).to_have_accessible_description(re.compile("must stay on while steps follow"))
    assert exported_nodes(api, workflow)["Accepted"]["config"]["continue"] is True


def test_a_subflow_built_in_the_form_is_saved_and_shown_again(signed_in: Page, api: httpx.Client) -> None:
    """The workflow is picked from the list, the context gets a variable, waiting is off; all is read back."""
    page = signed_in
    child = import_workflow(api, workflow_json("Ship the order", sync=False, nodes=[]))
    parent = import_workflow(api, {**workflow_json("Take the order", sync=False, nodes=[]), "enabled": False})
    page.goto(f"/#/workflows/{parent['id']}")
    drawer = add_node(page, "at the start", "Subflow")
    drawer.get_by_label("Title", exact=True).fill("Ship")
    chooser = drawer.get_by_label("Workflow to call", exact=True)
    expect(chooser.get_by_role("option", name=f"Ship the order ({child['key']})")).to_have_count(1)
    expect(
        chooser.get_by_role("option", name=f"Take the order ({parent['key']}) · this workflow")
    ).to_have_count(1)
    drawer.get_by_role("button", name="Save").click()
    expect(chooser).to_have_attribute("aria-invalid", "true")
    expect(chooser).to_have_accessible_description(re.compile("choose the workflow to call"))

    chooser.select_option(child["key"])
    context = drawer.get_by_label("Context (JSON)", exact=True)
    context.fill('{"body": {"id": ')
    pick(page, drawer, "Context (JSON)", "Order id")
    context.press("End")
    page.keyboard.type("}}")
    drawer.get_by_label("Wait for the called workflow to finish", exact=True).uncheck()
    screenshot(page, "node-subflow")
    save(drawer)

    assert exported_nodes(api, parent)["Ship"]["config"] == {
        "workflow": child["key"],
        "context": {"body": {"id": "{{$context.body.order.id}}"}},
        "wait": False,
    }
    page.reload()
    expect(page.locator(".node.type-subflow .node-meta")).to_contain_text(f"calls {child['key']}")
    drawer = open_node(page, "Ship", "Subflow")
    expect(drawer.get_by_label("Workflow to call", exact=True)).to_have_value(child["key"])
    expect(drawer.get_by_label("Wait for the called workflow to finish", exact=True)).not_to_be_checked()
    assert '"{{$context.body.order.id}}"' in drawer.get_by_label("Context (JSON)", exact=True).input_value()


def test_a_parent_links_to_its_child_execution_and_the_child_back(
    signed_in: Page, api: httpx.Client, tmp_path: Path
) -> None:
    """A waiting parent says what it waits for and links to the child, whose page links back."""
    marker = tmp_path / "go"
    blocks = node("block", "crash-block", None, {"marker": str(marker)})
    child = import_workflow(api, workflow_json("Ship the order", sync=False, nodes=[blocks]))
    subflow = {"workflow": child["key"], "context": {"body": {"order": "{{$context.body.order}}"}}}
    parent = import_workflow(
        api, workflow_json("Take the order", sync=False, nodes=[node("ship", "subflow", None, subflow)])
    )
    try:
        answer = httpx.post(parent["webhook_url"], json={"order": {"id": 7}}, timeout=10)
        assert answer.status_code == 200, answer.text
        parent_id = answer.headers["X-Hookline-Execution"]
        page = signed_in
        page.goto(f"/#/executions/{parent_id}")
        expect(page.locator("h1 .badge")).to_have_text("waiting")
        expect(page.locator(".running-note")).to_contain_text(
            "The execution is waiting for another execution to end (next check"
        )
        child_line = page.locator('[data-node="ship"] .child-link')
        expect(child_line).to_have_text(re.compile(r"^Child execution …\d{8}$"))
        screenshot(page, "execution-parent-waiting")
        marker.touch()
        expect(page.locator("h1 .badge")).to_have_text("resolved")
    finally:
        marker.touch()  # never leave a run waiting in the shared server

    jobs = api.get(f"/api/executions/{parent_id}").raise_for_status().json()["jobs"]
    child_id = jobs[0]["result"]["execution"]
    expect(child_line).to_have_text(f"Child execution …{child_id[-8:]}")
    child_line.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"#/executions/{child_id}$"))
    expect(page.get_by_role("heading", name=re.compile("^Execution"))).to_contain_text(child_id[-8:])
    child_view = api.get(f"/api/executions/{child_id}").raise_for_status().json()
    assert (child_view["parent_id"], child_view["context"]["body"]) == (parent_id, {"order": {"id": 7}})
    called_by = page.locator(".parent-link")
    expect(called_by).to_have_text(f"Called by execution …{parent_id[-8:]}")
    screenshot(page, "execution-child")
    assert low_contrast(page) == []
    called_by.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"#/executions/{parent_id}$"))
    expect(page.locator(".parent-link")).to_have_count(0)
    expect(child_line).to_be_visible()
