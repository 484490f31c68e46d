"""The request, delay, loop and parallel forms: built without JSON, saved, read back, refused per field."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.ui._contrast import low_contrast
from tests.ui._steps import add_node, exported_nodes, new_workflow, open_node, pick, save
from tests.ui.conftest import screenshot

ITEMS = [
    {"key": "order.id", "alias": "Order id"},
    {"key": "order.items", "alias": "Items"},
    {"key": "order.taxRate", "alias": "Tax rate"},
]


def order_workflow(api: httpx.Client, title: str, *, sync: bool = False) -> dict[str, Any]:
    """A new workflow whose trigger lists the order's id, items and tax rate; its view."""
    workflow = new_workflow(api, title, sync=sync)
    config = {"request": {"headers": [], "query": [], "body": ITEMS}}
    api.patch(f"/api/workflows/{workflow['id']}", json={"config": config}).raise_for_status()
    return workflow


def described_as(drawer: Locator, label: str, message: str) -> None:
    """The field `label` is marked invalid and its description holds `message`."""
    control = drawer.get_by_label(label, exact=True)
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(re.compile(re.escape(message)))


def test_a_request_built_in_the_form_keeps_every_field(signed_in: Page, api: httpx.Client) -> None:
    """Method, URL, parameter, header, form fields, timeout, retries, idempotency: saved, shown again."""
    page = signed_in
    workflow = order_workflow(api, "Forward")
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = add_node(page, "at the start", "HTTP request")
    drawer.get_by_label("Title", exact=True).fill("Forward")
    drawer.get_by_label("Method", exact=True).select_option("PUT")
    url = drawer.get_by_label("URL", exact=True)
    url.fill("https://api.example.com/orders/")
    pick(page, drawer, "URL", "Order id")
    expect(url).to_have_value("https://api.example.com/orders/{{$context.body.order.id}}")
    drawer.get_by_role("button", name="Add parameter").click()
    drawer.get_by_label("Parameter 1 name", exact=True).fill("source")
    drawer.get_by_label("Parameter 1 value", exact=True).fill("hookline")
    drawer.get_by_role("button", name="Add header").click()
    drawer.get_by_label("Header 1 name", exact=True).fill("X-Order")
    pick(page, drawer, "Header 1 value", "Order id")
    drawer.get_by_label("Content type", exact=True).select_option("form")
    expect(drawer.get_by_label("Body (JSON)", exact=True)).to_be_hidden()
    drawer.get_by_role("button", name="Add form field").click()
    drawer.get_by_label("Form field 1 name", exact=True).fill("rate")
    pick(page, drawer, "Form field 1 value", "Tax rate")
    drawer.get_by_label("Timeout (ms)", exact=True).fill("3000")
    drawer.get_by_label("Go on when the request fails", exact=True).check()
    drawer.get_by_label("Retry failed attempts", exact=True).check()
    drawer.get_by_label("Attempts", exact=True).fill("4")
    drawer.get_by_label("Back-off (ms)", exact=True).fill("500")
    drawer.get_by_label("Longest wait (ms)", exact=True).fill("10000")
    drawer.get_by_label("Retry on statuses", exact=True).fill("429, 503")
    drawer.get_by_label("Also after a network error or a timeout", exact=True).uncheck()
    drawer.get_by_label("Idempotency header", exact=True).fill("X-Request-Id")
    screenshot(page, "node-request")
    save(drawer)

    assert exported_nodes(api, workflow)["Forward"]["config"] == {
        "url": "https://api.example.com/orders/{{$context.body.order.id}}",
        "method": "PUT",
        "contentType": "form",
        "params": [{"name": "source", "value": "hookline"}],
        "headers": [{"name": "X-Order", "value": "{{$context.body.order.id}}"}],
        "data": [{"name": "rate", "value": "{{$context.body.order.taxRate}}"}],
        "timeout": 3000,
        "ignoreFail": True,
        "retry": {
            "attempts": 4,
            "backoff": 500,
            "maxDelay": 10000,
            "onStatus": [429, 503],
            "onNetworkError": False,
        },
        "idempotencyKey": "X-Request-Id",
    }
    page.reload()
    drawer = open_node(page, "Forward", "HTTP request")
    expect(drawer.get_by_label("Method", exact=True)).to_have_value("PUT")
    expect(drawer.get_by_label("Form field 1 value", exact=True)).to_have_value(
        "{{$context.body.order.taxRate}}"
    )
    expect(drawer.get_by_label("Retry failed attempts", exact=True)).to_be_checked()
    expect(drawer.get_by_label("Retry on statuses", exact=True)).to_have_value("429, 503")
    expect(drawer.get_by_label("Also after a network error or a timeout", exact=True)).not_to_be_checked()


def test_a_new_request_sends_the_servers_defaults_only(signed_in: Page, api: httpx.Client) -> None:
    """A request with a URL and a JSON body saves no timeout, retry or idempotency: defaults apply."""
    page = signed_in
    workflow = order_workflow(api, "Defaults", sync=True)
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = add_node(page, "at the start", "HTTP request")
    drawer.get_by_label("URL", exact=True).fill("https://api.example.com/orders")
    body = drawer.get_by_label("Body (JSON)", exact=True)
    body.fill('{"id": ')
    pick(page, drawer, "Body (JSON)", "Order id")
    body.press("End")
    page.keyboard.type("}")
    expect(body).to_have_value('{"id": "{{$context.body.order.id}}"}')
    save(drawer)
    assert exported_nodes(api, workflow)["HTTP request"]["config"] == {
        "url": "https://api.example.com/orders",
        "method": "POST",
        "contentType": "json",
        "data": {"id": "{{$context.body.order.id}}"},
    }


def test_a_requests_problems_show_under_their_fields(signed_in: Page, api: httpx.Client) -> None:
    """A bad status list is refused in the browser; the server's problems go under their fields."""
    page = signed_in
    workflow = order_workflow(api, "Broken request")
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = add_node(page, "at the start", "HTTP request")
    drawer.get_by_label("URL", exact=True).fill("ftp://files.example.com/orders")
    drawer.get_by_role("button", name="Add header").click()
    drawer.get_by_label("Header 1 name", exact=True).fill("Bad name")
    drawer.get_by_label("Retry failed attempts", exact=True).check()
    drawer.get_by_label("Attempts", exact=True).fill("50")
    drawer.get_by_label("Retry on statuses", exact=True).fill("503, soon")
    drawer.get_by_role("button", name="Save").click()
    described_as(drawer, "Retry on statuses", "“soon” is not an HTTP status code")

    drawer.get_by_label("Retry on statuses", exact=True).fill("503")
    drawer.get_by_role("button", name="Save").click()
    described_as(drawer, "URL", "must be an http:// or https:// URL")
    described_as(drawer, "Attempts", "must be an integer between 1 and 20")
    expect(drawer.get_by_label("Header 1 name", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(drawer.get_by_label("Retry on statuses", exact=True)).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "node-request-problems")
    assert low_contrast(page) == []
    assert exported_nodes(api, workflow) == {}


def test_a_loop_with_a_delay_and_a_parallel_with_three_branches(signed_in: Page, api: httpx.Client) -> None:
    """A loop with a condition, a delay in its Each item branch, a parallel given a third branch."""
    page = signed_in
    workflow = order_workflow(api, "Fan out")
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = add_node(page, "at the start", "Loop")
    drawer.get_by_label("Title", exact=True).fill("Each")
    pick(page, drawer, "Loop over", "Items")
    drawer.get_by_label("Check a condition at each item", exact=True).check()
    drawer.get_by_label("Check", exact=True).select_option(
        label="After each item (the first item always runs)"
    )
    drawer.get_by_label("When false", exact=True).select_option(label="Skip this item and go on")
    drawer.get_by_label("Engine", exact=True).select_option("math.js")
    pick(page, drawer, "Expression", "Order id")
    page.keyboard.type(" > 0")
    drawer.get_by_label("When an item's branch fails", exact=True).select_option(
        label="Stop the loop and go on after it"
    )
    screenshot(page, "node-loop")
    save(drawer)

    expect(page.get_by_role("list", name="Each item branch of Each")).to_be_visible()
    drawer = add_node(page, "at the start of the Each item branch of Each", "Delay")
    drawer.get_by_label("Duration", exact=True).fill("3")
    drawer.get_by_label("Unit", exact=True).select_option("minutes")
    drawer.get_by_label("Then", exact=True).select_option(label="End the execution as failed")
    save(drawer)

    drawer = add_node(page, "after Each", "Parallel")
    drawer.get_by_label("Title", exact=True).fill("Fork")
    drawer.get_by_label(re.compile("^Any succeeds")).check()
    save(drawer)
    expect(page.get_by_role("list", name=re.compile(r"Branch \d branch of Fork"))).to_have_count(2)
    page.get_by_role("button", name="Add a branch to Fork").click()
    expect(
        page.get_by_role("button", name="Add a node at the start of the Branch 3 branch of Fork")
    ).to_be_focused()
    drawer = add_node(page, "at the start of the Branch 3 branch of Fork", "Delay")
    drawer.get_by_label("Title", exact=True).fill("Later")
    drawer.get_by_label("Wait", exact=True).select_option(label="Until a time")
    drawer.get_by_label("Until", exact=True).fill("2030-01-01T00:00:00Z")
    save(drawer)
    screenshot(page, "flow-loop-parallel")
    assert low_contrast(page) == []

    nodes = exported_nodes(api, workflow)
    each_key = nodes["Each"]["key"]
    assert nodes["Each"]["config"] == {
        "target": "{{$context.body.order.items}}",
        "condition": {
            "checkpoint": "after",
            "continueOnFalse": True,
            "engine": "math.js",
            "expression": "{{$context.body.order.id}} > 0",
        },
        "exit": "break",
    }
    assert (nodes["Delay"]["upstream"], nodes["Delay"]["branchIndex"]) == (each_key, 0)
    assert nodes["Delay"]["config"] == {"duration": 3, "unit": "minutes", "endStatus": "failed"}
    assert nodes["Fork"]["config"] == {"mode": "any"}
    assert (nodes["Later"]["upstream"], nodes["Later"]["branchIndex"]) == (nodes["Fork"]["key"], 2)
    assert nodes["Later"]["config"] == {"until": "2030-01-01T00:00:00Z"}

    page.reload()
    expect(page.get_by_role("list", name=re.compile(r"Branch \d branch of Fork"))).to_have_count(3)
    drawer = open_node(page, "Each", "Loop")
    expect(drawer.get_by_label("Check a condition at each item", exact=True)).to_be_checked()
    expect(drawer.get_by_label("Expression", exact=True)).to_have_value("{{$context.body.order.id}} > 0")
    drawer.get_by_role("button", name="Insert variable into Loop over").click()
    expect(
        page.get_by_role("menu", name="Variables for Loop over").get_by_role("group", name="Loop Each")
    ).to_be_visible()


def test_delay_and_loop_problems_show_under_their_fields(signed_in: Page, api: httpx.Client) -> None:
    """A negative duration and a loop without a target are refused by the server, each under its own field."""
    page = signed_in
    workflow = order_workflow(api, "Broken waits")
    page.goto(f"/#/workflows/{workflow['id']}")
    drawer = add_node(page, "at the start", "Delay")
    drawer.get_by_label("Duration", exact=True).fill("-5")
    drawer.get_by_role("button", name="Save").click()
    described_as(drawer, "Duration", "must be a number of seconds from 0 up")
    drawer.get_by_label("Wait", exact=True).select_option(label="Until a time")
    drawer.get_by_label("Until", exact=True).fill("next tuesday")
    drawer.get_by_role("button", name="Save").click()
    described_as(drawer, "Until", "must be an ISO 8601 time")
    drawer.get_by_role("button", name="Close").click()

    drawer = add_node(page, "at the start", "Loop")
    drawer.get_by_role("button", name="Save").click()
    described_as(drawer, "Loop over", "is required")
    assert exported_nodes(api, workflow) == {}
