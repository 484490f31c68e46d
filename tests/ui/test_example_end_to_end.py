"""The example workflow (docs/reference/workflow-json.md#example) built from nothing in the browser,
called over HTTP, and inspected in the UI.

Everything a person does here goes through the UI; the HTTP client only plays the outside caller.
"""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.ui._steps import add_node, add_paid_response, open_trigger, pick, save
from tests.ui.conftest import screenshot

SAMPLE = '{"order": {"id": 42, "status": "paid"}}'
PAID = {"order": {"id": 42, "status": "paid"}}
OPEN = {"order": {"id": 43, "status": "open"}}


def create_workflow(page: Page, title: str, mode: str) -> None:
    """New workflow → title → mode ("Synchronous" or "Asynchronous") → its page."""
    page.get_by_role("button", name="New workflow").click()
    page.get_by_label("Title").fill(title)
    page.get_by_role("radio", name=re.compile(f"^{mode} ")).check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def parse_body_sample(drawer: Locator) -> None:
    """Paste the sample body, parse it, and name the two paths the flow uses."""
    body = drawer.get_by_role("region", name="Body", exact=True)
    body.get_by_label("Sample JSON body").fill(SAMPLE)
    body.get_by_role("button", name="Parse").click()
    body.get_by_label("Alias of order.status").fill("Order status")
    body.get_by_label("Alias of order.id").fill("Order id")


def add_paid_condition(page: Page) -> None:
    """The Condition "Paid?" at the head: Order status (from the picker) equals "paid"."""
    drawer = add_node(page, "at the start", "Condition")
    drawer.get_by_label("Title", exact=True).fill("Paid?")
    row = drawer.get_by_role("group", name="Comparison 1", exact=True)
    pick(page, row, "First value", "Order status")
    row.get_by_label("Operator").select_option(label="equals")
    row.get_by_label("Second value", exact=True).fill("paid")
    save(drawer)


def enable(page: Page) -> None:
    """Turn on the Enabled switch of the workflow page and wait for the confirmation."""
    page.locator(".page-head").get_by_role("switch", name="Enabled").click()
    expect(page.get_by_role("status")).to_contain_text("Enabled")
    expect(page.locator(".version-bar").get_by_text("enabled", exact=True)).to_be_visible()


def webhook_url(page: Page) -> str:
    """The webhook URL as the trigger drawer shows it."""
    drawer = open_trigger(page)
    url = drawer.get_by_label("Webhook URL").input_value()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    return url


def wait_until_finished(api: httpx.Client, execution_ids: list[str], within: float = 30.0) -> dict[str, str]:
    """Poll the API until every execution has finished; their statuses."""
    deadline = time.monotonic() + within
    while True:
        statuses = {i: api.get(f"/api/executions/{i}").json()["status"] for i in execution_ids}
        if all(status not in ("queued", "started") for status in statuses.values()):
            return statuses
        assert time.monotonic() < deadline, f"still running after {within} s: {statuses}"
        time.sleep(0.1)  # the workers run in another process: polling is the only way to see them finish


def open_execution(page: Page, execution_id: str) -> None:
    """Click an execution's link in the executions list."""
    page.get_by_role("link", name=f"…{execution_id[-8:]}").click()
    expect(page.get_by_role("heading", name=re.compile("^Execution"))).to_be_visible()


def node_card(page: Page, key_or_title: str) -> Locator:
    """The canvas card of a node, by its title."""
    return page.locator(".node").filter(
        has=page.locator(".node-title", has_text=re.compile(f"^{key_or_title}$"))
    )


def test_the_sync_example_is_built_called_and_inspected_in_the_ui(signed_in: Page) -> None:
    """Build the sync example in the UI only; both branches answer right; both runs show their jobs."""
    page = signed_in
    title = f"Order paid {uuid.uuid4().hex[:6]}"
    create_workflow(page, title, "Synchronous")

    drawer = open_trigger(page)
    drawer.get_by_role("switch", name="Basic authentication").check()
    drawer.get_by_label("Username").fill("shop")
    drawer.get_by_label("Password").fill("s3cret")
    parse_body_sample(drawer)
    save(drawer)

    add_paid_condition(page)

    drawer = add_paid_response(page)
    body = drawer.get_by_label("Body (JSON)", exact=True)
    body.fill('{"ok": true, "id": ')
    pick(page, drawer, "Body (JSON)", "Order id")
    page.keyboard.type("}")
    save(drawer)

    drawer = add_node(page, "at the start of the No branch of Paid?", "Response")
    drawer.get_by_label("Title", exact=True).fill("Not paid")
    drawer.get_by_label("Status code").fill("400")
    drawer.get_by_label("Body (JSON)", exact=True).fill('{"ok": false}')
    save(drawer)

    enable(page)
    screenshot(page, "example-sync-built")
    url = webhook_url(page)

    paid = httpx.post(url, json=PAID, auth=("shop", "s3cret"), timeout=10)
    assert paid.status_code == 200, paid.text
    assert paid.headers["x-order"] == "42"
    assert paid.json() == {"ok": True, "id": 42}
    unpaid = httpx.post(url, json=OPEN, auth=("shop", "s3cret"), timeout=10)
    assert unpaid.status_code == 400, unpaid.text
    assert unpaid.json() == {"ok": False}
    assert httpx.post(url, json=PAID, timeout=10).status_code == 401

    page.get_by_role("link", name="Executions", exact=True).click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.get_by_text("resolved")).to_have_count(2)
    screenshot(page, "example-sync-executions")

    open_execution(page, paid.headers["x-hookline-execution"])
    expect(node_card(page, "Paid\\?").locator(".job-result, details")).to_contain_text("true")
    expect(node_card(page, "Paid")).to_contain_text("resolved")
    expect(node_card(page, "Not paid")).to_contain_text("did not run")
    screenshot(page, "example-sync-execution-paid")
    page.go_back()
    open_execution(page, unpaid.headers["x-hookline-execution"])
    expect(node_card(page, "Paid\\?").locator(".job-result, details")).to_contain_text("false")
    expect(node_card(page, "Not paid")).to_contain_text("resolved")
    expect(node_card(page, "Paid")).to_contain_text("did not run")


def test_the_async_example_answers_with_its_custom_response_and_runs_in_the_background(
    signed_in: Page, api: httpx.Client
) -> None:
    """An async workflow built in the UI answers 202 with its templated header; its runs show in the UI."""
    page = signed_in
    title = f"Order paid async {uuid.uuid4().hex[:6]}"
    create_workflow(page, title, "Asynchronous")

    drawer = open_trigger(page)
    parse_body_sample(drawer)
    drawer.get_by_label("Status code").fill("202")
    drawer.get_by_role("button", name="Add a header").click()
    drawer.get_by_label("Name of response header 1").fill("X-Order")
    pick(page, drawer, "Value of response header 1", "Order id")
    drawer.get_by_label("Response body", exact=True).fill('{"received": true}')
    save(drawer)

    add_paid_condition(page)
    drawer = add_node(page, "at the start of the No branch of Paid?", "End")
    drawer.get_by_label("Title", exact=True).fill("Refuse")
    drawer.get_by_label("End status").select_option("failed")
    save(drawer)
    enable(page)
    screenshot(page, "example-async-built")
    url = webhook_url(page)

    answers = [httpx.post(url, json=body, timeout=10) for body in (PAID, OPEN)]
    for answer in answers:
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"received": True}
    assert [a.headers["x-order"] for a in answers] == ["42", "43"]
    ids = [a.headers["x-hookline-execution"] for a in answers]
    assert list(wait_until_finished(api, ids).values()) == ["resolved", "failed"]

    page.get_by_role("link", name="Executions", exact=True).click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Status").select_option("failed")
    expect(rows).to_have_count(1)
    open_execution(page, ids[1])
    expect(node_card(page, "Paid\\?").locator("details")).to_contain_text("false")
    expect(node_card(page, "Refuse")).to_contain_text(
        "failed"
    )  # the End node's job ends the run with its status
    screenshot(page, "example-async-execution-failed")
