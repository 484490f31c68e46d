"""examples/order-forward.json built in the browser without JSON, run, its retries and its wait watched."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests._receiver import Receiver, Reply, Seen
from tests.ui._contrast import low_contrast
from tests.ui._steps import add_node, new_workflow, pick, save
from tests.ui.conftest import screenshot

FAILURES = 2
"""The receiver answers 503 to the first two attempts of each call: every call takes 3 attempts."""
ORDER = {
    "id": 7,
    "taxRate": 0.1,
    "items": [
        {"sku": "a", "qty": 2, "price": 5},
        {"sku": "b", "qty": 1, "price": 10},
        {"sku": "c", "qty": 0, "price": 3},
    ],
}
TOTAL = (
    "ROUND(SUMPRODUCT({{$context.body.order.items.qty}}, {{$context.body.order.items.price}})"
    " * (1 + {{$context.body.order.taxRate}}), 2)"
)
RUN = 60_000
"""Milliseconds to wait for the execution: six waits between attempts, a 2 s delay, the poll interval."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP server, on a loop in its own thread: each call (path and key) gets 503 twice, then 201."""
    calls: Counter[tuple[str, str | None]] = Counter()

    def answer(seen: Seen) -> Reply:
        call = (seen.target, seen.header("Idempotency-Key"))
        calls[call] += 1
        if calls[call] <= FAILURES:
            return Reply(status=503, body=b'{"busy": true}')
        return Reply(status=201, body=b'{"stored": true}')

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = Receiver(answer)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def retries(drawer: Locator) -> None:
    """Switch on retries as the example has them: 4 attempts, 200 ms back-off, at most 1 s, on 429 and 5xx."""
    drawer.get_by_label("Timeout (ms)", exact=True).fill("3000")
    drawer.get_by_label("Retry failed attempts", exact=True).check()
    drawer.get_by_label("Attempts", exact=True).fill("4")
    drawer.get_by_label("Back-off (ms)", exact=True).fill("200")
    drawer.get_by_label("Longest wait (ms)", exact=True).fill("1000")
    drawer.get_by_label("Retry on statuses", exact=True).fill("429, 502, 503, 504")


def pick_in(page: Page, drawer: Locator, field: str, group: str, item: str = "Result") -> None:
    """Insert the variable `item` of the menu group `group` (a node's title, "Loop Each") into `field`."""
    drawer.get_by_role("button", name=f"Insert variable into {field}", exact=True).click()
    menu = page.get_by_role("menu", name=f"Variables for {field}")
    menu.get_by_role("group", name=group, exact=True).get_by_role(
        "menuitem", name=re.compile(f"^{item}\\b")
    ).click()


def build(page: Page, receiver: Receiver) -> None:
    """Build the example's six nodes with their forms, as a person would."""
    drawer = add_node(page, "at the start", "Calculation")
    drawer.get_by_label("Title", exact=True).fill("Total")
    drawer.get_by_label("Engine", exact=True).select_option("formula.js")
    drawer.get_by_label("Expression", exact=True).fill(TOTAL)
    save(drawer)

    drawer = add_node(page, "after Total", "JSON query")
    drawer.get_by_label("Title", exact=True).fill("Line items")
    drawer.get_by_label("Source", exact=True).fill("{{$context.body.order}}")
    drawer.get_by_label("Expression", exact=True).fill("items[?qty > `0`].{sku: sku, qty: qty, price: price}")
    save(drawer)

    drawer = add_node(page, "after Line items", "Loop")
    drawer.get_by_label("Title", exact=True).fill("Each")
    pick_in(page, drawer, "Loop over", "Line items")
    save(drawer)

    drawer = add_node(page, "at the start of the Each item branch of Each", "HTTP request")
    drawer.get_by_label("Title", exact=True).fill("Post item")
    drawer.get_by_label("URL", exact=True).fill(f"{receiver.url('/orders/')}")
    pick(page, drawer, "URL", "Order id")
    page.keyboard.type("/items")
    drawer.get_by_role("button", name="Add header").click()
    drawer.get_by_label("Header 1 name", exact=True).fill("Idempotency-Key")
    drawer.get_by_label("Header 1 value", exact=True).fill("order-")
    pick(page, drawer, "Header 1 value", "Order id")
    page.keyboard.type("-line-")
    pick_in(page, drawer, "Header 1 value", "Loop Each", "Sequence")
    drawer.get_by_label("Body (JSON)", exact=True).fill('{"item": ')
    pick_in(page, drawer, "Body (JSON)", "Loop Each", "Item")
    page.keyboard.type("}")
    retries(drawer)
    save(drawer)

    drawer = add_node(page, "after Each", "Delay")
    drawer.get_by_label("Title", exact=True).fill("Wait")
    drawer.get_by_label("Duration", exact=True).fill("2")
    save(drawer)

    drawer = add_node(page, "after Wait", "HTTP request")
    drawer.get_by_label("Title", exact=True).fill("Summary")
    drawer.get_by_label("URL", exact=True).fill(f"{receiver.url('/orders/')}")
    pick(page, drawer, "URL", "Order id")
    page.keyboard.type("/summary")
    drawer.get_by_label("Body (JSON)", exact=True).fill('{"total": ')
    pick_in(page, drawer, "Body (JSON)", "Total")
    page.keyboard.type("}")
    retries(drawer)
    save(drawer)


def job_of(page: Page, key: str) -> Locator:
    """The job part of node `key`'s card in the execution view."""
    return page.locator(f'[data-node="{key}"] .job')


def test_the_forward_example_built_in_the_ui_shows_its_retries_and_its_wait(
    signed_in: Page, api: httpx.Client, receiver: Receiver
) -> None:
    """Each line and the summary take 3 attempts under one key each; the page shows the wait, then done."""
    page = signed_in
    workflow = new_workflow(api, "Order forward (queued)", sync=False)
    items = [{"key": "order.id", "alias": "Order id"}, {"key": "order.items"}, {"key": "order.taxRate"}]
    api.patch(
        f"/api/workflows/{workflow['id']}", json={"config": {"request": {"body": items}}}
    ).raise_for_status()
    page.goto(f"/#/workflows/{workflow['id']}")
    build(page, receiver)
    page.get_by_label("Enabled", exact=True).check()
    expect(page.locator(".version-bar .badge.enabled")).to_be_visible()
    exported = api.get(f"/api/workflows/{workflow['id']}/export").raise_for_status().json()
    keys: dict[str, Any] = {node["title"]: node["key"] for node in exported["nodes"]}
    assert exported["nodes"][3]["config"]["data"] == {"item": f"{{{{$scopes.{keys['Each']}.item}}}}"}

    answer = httpx.post(workflow["webhook_url"], json={"order": ORDER}, timeout=10)
    assert answer.status_code == 200, answer.text
    execution_id = answer.headers["X-Hookline-Execution"]
    page.goto(f"/#/executions/{execution_id}")
    expect(page.locator(".running-note")).to_contain_text("(delay)", timeout=RUN)
    expect(page.locator(".running-note time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    screenshot(page, "execution-waiting")
    assert low_contrast(page) == []
    expect(page.locator("h1 [data-status]")).to_have_text("resolved", timeout=RUN)
    post_item = job_of(page, keys["Post item"])
    expect(post_item).to_contain_text("3 attempts")
    expect(post_item).to_contain_text("item 2")
    expect(post_item).to_contain_text("2 runs")
    expect(job_of(page, keys["Summary"])).to_contain_text("3 attempts")
    expect(job_of(page, keys["Wait"])).to_contain_text("resolved")
    screenshot(page, "execution-retries")
    assert low_contrast(page) == []

    page.get_by_role("button", name="Post item (HTTP request)", exact=True).click()
    drawer = page.get_by_role("dialog", name=f"Post item ({keys['Post item']})")
    expect(drawer.locator("ol.attempts").first.get_by_role("listitem")).to_have_text(
        ["answered 503", "answered 503", "answered 201"]
    )
    expect(drawer.get_by_text("item 1", exact=True)).to_be_visible()

    page.goto(f"/#/workflows/{workflow['id']}")
    page.get_by_role("button", name="Post item (HTTP request)", exact=True).click()
    drawer = page.get_by_role("dialog", name="HTTP request")
    expect(drawer.get_by_label("Retry failed attempts", exact=True)).to_be_disabled()
    expect(drawer.get_by_label("Header 1 value", exact=True)).to_have_value(
        f"order-{{{{$context.body.order.id}}}}-line-{{{{$scopes.{keys['Each']}.sequence}}}}"
    )
    expect(page.get_by_role("button", name=re.compile("^Add a"))).to_have_count(0)

    calls = Counter((seen.target, seen.header("Idempotency-Key")) for seen in receiver.seen)
    assert calls == {
        ("/orders/7/items", "order-7-line-1"): 3,
        ("/orders/7/items", "order-7-line-2"): 3,
        ("/orders/7/summary", f"{execution_id}-{keys['Summary']}"): 3,
    }
