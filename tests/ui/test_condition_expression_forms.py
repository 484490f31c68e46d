"""Expression conditions in a real browser: the engine choice, the expression with the picker, results."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.ui._steps import add_node, new_workflow, pick, save
from tests.ui.conftest import screenshot

BODY_ITEMS = [{"key": "total", "alias": "Total"}, {"key": "country", "alias": "Country"}]
BIG = {"rejectOnFalse": False, "engine": "formula.js", "expression": "{{$context.body.total}} > 100"}
WHERE = {
    "conditions": [
        {"title": "France", "engine": "math.js", "expression": '{{$context.body.country}} == "FR"'}
    ],
    "continueOnNoMatch": True,
}


def test_expression_conditions_built_in_the_forms_choose_and_show_their_results(
    signed_in: Page, api: httpx.Client
) -> None:
    """A formula.js condition and a math.js branch condition save NocoBase's configs and show results."""
    page = signed_in
    workflow = new_workflow(api, "Order tiers (expressions)", sync=True)
    api.patch(
        f"/api/workflows/{workflow['id']}", json={"config": {"request": {"body": BODY_ITEMS}}}
    ).raise_for_status()
    page.goto(f"/#/workflows/{workflow['id']}")
    expect(page.get_by_role("heading", name=workflow["title"])).to_be_visible()

    drawer = add_node(page, "at the start", "Condition")
    drawer.get_by_label("Title", exact=True).fill("Big?")
    expect(drawer.get_by_role("group", name="Comparison 1", exact=True)).to_be_visible()
    drawer.get_by_label("Engine").select_option("formula.js")
    expect(drawer.get_by_role("group", name="Comparison 1", exact=True)).to_be_hidden()
    expression = drawer.get_by_label("Expression", exact=True)
    expression.fill("9 ** 9 ** 9 >")
    drawer.get_by_role("button", name="Save").click()
    expect(expression).to_have_attribute("aria-invalid", "true")
    expect(expression).to_have_accessible_description(re.compile(r"^at 14: the expression ends too early"))
    expression.fill("")
    pick(page, drawer, "Expression", "Total")
    expression.press("End")
    page.keyboard.type(" > 100")
    expect(expression).to_have_value(BIG["expression"])
    screenshot(page, "node-condition-expression")
    save(drawer)

    drawer = add_node(page, "after Big?", "Multi-conditions")
    card = drawer.get_by_role("region", name="Condition 1", exact=True)
    card.get_by_label("Branch title").fill("France")
    card.get_by_label("Engine").select_option("math.js")
    card_expression = card.get_by_label("Expression", exact=True)
    pick(page, card, "Expression", "Country")
    card_expression.press("End")
    page.keyboard.type(' == "FR"')
    drawer.get_by_label("Continue when nothing matches").check()
    save(drawer)

    nodes = api.get(f"/api/workflows/{workflow['id']}").json()["nodes"]
    keys = {node["type"]: node["key"] for node in nodes}
    configs = {node["type"]: node["config"] for node in nodes}
    assert configs == {"condition": BIG, "multi-conditions": WHERE}

    api.post(f"/api/workflows/{workflow['id']}/enable").raise_for_status()
    url = api.get(f"/api/workflows/{workflow['id']}").json()["webhook_url"]
    answer = httpx.post(url, json={"total": "250", "country": "FR"}, timeout=10)
    assert answer.status_code == 200
    page.goto(f"/#/executions/{answer.headers['X-Hookline-Execution']}")
    for node_type, result in [("condition", "true"), ("multi-conditions", "1")]:
        job = page.locator(f'[data-node="{keys[node_type]}"]')
        expect(job.locator(".job .badge")).to_have_text("resolved")
        job.get_by_text("Result", exact=True).click()
        expect(job.locator(".job-result pre")).to_have_text(result)
    screenshot(page, "execution-condition-expressions")
