"""The calculation node's form in a real browser: engine, expression with the picker, problems, result."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.ui._steps import add_node, new_workflow, pick, save
from tests.ui.conftest import screenshot

BODY_ITEMS = [{"key": "price", "alias": "Price"}, {"key": "qty", "alias": "Quantity"}]


def test_a_calculation_built_in_the_form_computes_its_result(signed_in: Page, api: httpx.Client) -> None:
    """A bad expression shows its problem; one built with the picker computes what the execution shows."""
    page = signed_in
    workflow = new_workflow(api, "Order total (calculation)", sync=True)
    api.patch(
        f"/api/workflows/{workflow['id']}", json={"config": {"request": {"body": BODY_ITEMS}}}
    ).raise_for_status()
    page.goto(f"/#/workflows/{workflow['id']}")
    expect(page.get_by_role("heading", name=workflow["title"])).to_be_visible()

    drawer = add_node(page, "at the start", "Calculation")
    drawer.get_by_label("Title", exact=True).fill("Total")
    drawer.get_by_label("Engine").select_option("formula.js")
    expression = drawer.get_by_label("Expression", exact=True)
    expression.fill("9 ** 9 ** 9")
    drawer.get_by_role("button", name="Save").click()
    expect(expression).to_have_attribute("aria-invalid", "true")
    expect(expression).to_have_accessible_description(re.compile(r"^at 3: the power is too large"))

    expression.fill("ROUND(")
    pick(page, drawer, "Expression", "Price")
    expression.press("End")
    page.keyboard.type(" * ")
    pick(page, drawer, "Expression", "Quantity")
    expression.press("End")
    page.keyboard.type(" * 1.2, 2)")
    expect(expression).to_have_value("ROUND({{$context.body.price}} * {{$context.body.qty}} * 1.2, 2)")
    screenshot(page, "node-calculation")
    save(drawer)

    drawer = add_node(page, "after Total", "Response")
    body = drawer.get_by_label("Body (JSON)", exact=True)
    body.fill('{"total": ')
    drawer.get_by_role("button", name="Insert variable into Body (JSON)").click()
    menu = page.get_by_role("menu", name="Variables for Body (JSON)")
    menu.get_by_role("group", name="Total").get_by_role("menuitem", name="Result").click()
    page.keyboard.type("}")
    save(drawer)

    api.post(f"/api/workflows/{workflow['id']}/enable").raise_for_status()
    url = api.get(f"/api/workflows/{workflow['id']}").json()["webhook_url"]
    answer = httpx.post(url, json={"price": "19.90", "qty": 2}, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"total": 47.76})

    key = next(
        n["key"]
        for n in api.get(f"/api/workflows/{workflow['id']}").json()["nodes"]
        if n["type"] == "calculation"
    )
    page.goto(f"/#/executions/{answer.headers['X-Hookline-Execution']}")
    calculation = page.locator(f'[data-node="{key}"]')
    expect(calculation.locator(".job .badge")).to_have_text("resolved")
    calculation.get_by_text("Result", exact=True).click()
    expect(calculation.locator(".job-result pre")).to_have_text("47.76")
    screenshot(page, "execution-calculation")
