"""The webhook trigger's drawer (URL, Basic auth, parsed paths, async answer) and the test-request form."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.integration._live_server import REPO_ROOT
from tests.ui._path_tables import expect_keys
from tests.ui._steps import new_workflow, open_trigger
from tests.ui.conftest import screenshot

SAMPLE_URL = "https://x.test/hook?a[0][b]=1&a[1]=x&flag"
SAMPLE_BODY = '{"order": {"id": 42, "items": [{"sku": "A"}]}, "status": "paid"}'


def _drawer_screenshot(page: Page, name: str) -> None:
    """A screenshot with the viewport as tall as the open drawer's content, so all of it shows."""
    height = page.evaluate(
        "() => { const d = document.querySelector('.drawer');"
        " return d.scrollHeight - d.querySelector('.drawer-body').clientHeight"
        " + d.querySelector('.drawer-body').scrollHeight; }"
    )
    page.set_viewport_size({"width": 1280, "height": max(800, int(height) + 8)})
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_parsed_samples_fill_the_path_tables_and_edits_persist(signed_in: Page, api: httpx.Client) -> None:
    """Parsing a nested URL and JSON gives the API's paths; aliases, deletions and a header survive a save."""
    page = signed_in
    workflow = new_workflow(api, "Trigger parse test", sync=True)
    drawer = open_trigger(page, workflow["id"])
    expect(drawer.get_by_label("Webhook URL")).to_have_value(workflow["webhook_url"])
    expect(drawer.get_by_label("Status code")).to_have_count(0)  # a sync workflow answers from its nodes

    query_paths = api.post("/api/parse/query", json={"sample": SAMPLE_URL}).json()["paths"]
    body_paths = api.post("/api/parse/json", json={"text": SAMPLE_BODY}).json()["paths"]
    assert query_paths == ["a", "a[0]", "a[0].b", "a[1]", "flag"]
    assert body_paths == [
        "order",
        "order.id",
        "order.items",
        "order.items[0]",
        "order.items[0].sku",
        "status",
    ]

    query = drawer.get_by_role("region", name="Query")
    query.get_by_label("Sample URL or query string").fill(SAMPLE_URL)
    query.get_by_role("button", name="Parse").click()
    expect_keys(query, query_paths)

    body = drawer.get_by_role("region", name="Body", exact=True)
    body.get_by_label("Sample JSON body").fill(SAMPLE_BODY)
    body.get_by_role("button", name="Parse").click()
    expect_keys(body, body_paths)
    _drawer_screenshot(page, "trigger-parsed-body")

    # Parsing again merges: the alias stays, only the new path is added.
    body.get_by_label("Alias of order.id").fill("Order id")
    body.get_by_label("Sample JSON body").fill('{"order": {"id": 1}, "currency": "EUR"}')
    body.get_by_role("button", name="Parse").click()
    expect(body.get_by_text("Added 1 new path of 3.")).to_be_visible()
    expect_keys(body, [*body_paths, "currency"])
    expect(body.get_by_label("Alias of order.id")).to_have_value("Order id")
    body.get_by_role("button", name="Delete order.items[0].sku").click()
    query.get_by_label("Alias of flag").fill("Flag")
    query.get_by_role("button", name="Delete a[1]").click()
    headers = drawer.get_by_role("region", name="Headers")
    headers.get_by_label("New header name").fill("X-Request-Id")
    headers.get_by_label("New header name").press("Enter")
    headers.get_by_label("Alias of X-Request-Id").fill("Request id")

    page.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()
    request = api.get(f"/api/workflows/{workflow['id']}").json()["config"]["request"]
    assert request == {
        "headers": [{"key": "X-Request-Id", "alias": "Request id"}],
        "query": [
            {"key": "a", "alias": ""},
            {"key": "a[0]", "alias": ""},
            {"key": "a[0].b", "alias": ""},
            {"key": "flag", "alias": "Flag"},
        ],
        "body": [
            {"key": "order", "alias": ""},
            {"key": "order.id", "alias": "Order id"},
            {"key": "order.items", "alias": ""},
            {"key": "order.items[0]", "alias": ""},
            {"key": "status", "alias": ""},
            {"key": "currency", "alias": ""},
        ],
    }

    page.reload()
    drawer = open_trigger(page, workflow["id"])
    body = drawer.get_by_role("region", name="Body", exact=True)
    expect(body.get_by_label("Alias of order.id")).to_have_value("Order id")
    expect_keys(body, ["order", "order.id", "order.items", "order.items[0]", "status", "currency"])
    expect(drawer.get_by_role("region", name="Query").get_by_label("Alias of flag")).to_have_value("Flag")
    expect(body.get_by_label("Sample JSON body")).to_have_value('{"order": {"id": 1}, "currency": "EUR"}')
    expect(drawer.get_by_label("Sample URL or query string")).to_have_value(SAMPLE_URL)

    # The test-request form starts from the samples parsed last.
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Send a test request").click()
    form = page.get_by_role("dialog", name="Send a test request")
    expect(form.get_by_label("Query string")).to_have_value("a[0][b]=1&a[1]=x&flag")
    expect(form.get_by_label("JSON body")).to_have_value('{"order": {"id": 1}, "currency": "EUR"}')
    expect(form.get_by_label("Name of request header 1")).to_have_value("X-Request-Id")


def test_basic_auth_problems_show_under_their_field(signed_in: Page, api: httpx.Client) -> None:
    """An empty username is refused under Username; bad sample JSON under its textarea; then it saves."""
    page = signed_in
    workflow = new_workflow(api, "Trigger auth test", sync=True)
    drawer = open_trigger(page, workflow["id"])
    username = drawer.get_by_label("Username")
    expect(username).to_be_hidden()
    drawer.get_by_role("switch", name="Basic authentication").check()
    expect(username).to_be_visible()
    drawer.get_by_label("Password").fill("s3cret")

    page.get_by_role("button", name="Save").click()
    problem = drawer.locator('[data-where="config.basicAuthentication.username"] .field-error')
    expect(problem).to_have_text("must be a non-empty string")
    expect(username).to_have_attribute("aria-invalid", "true")
    assert api.get(f"/api/workflows/{workflow['id']}").json()["config"].get("basicAuthentication") in (
        None,
        False,
    )

    body = drawer.get_by_role("region", name="Body", exact=True)
    body.get_by_label("Sample JSON body").fill('{"order": ')
    body.get_by_role("button", name="Parse").click()
    parse_problem = body.locator(".field-error")
    expect(parse_problem).to_contain_text("not valid JSON")
    expect(body.get_by_label("Sample JSON body")).to_have_attribute("aria-invalid", "true")
    expect(body.locator("table.path-table")).to_be_hidden()

    username.fill("shop")
    page.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()
    config = api.get(f"/api/workflows/{workflow['id']}").json()["config"]
    assert config["basicAuthentication"] == {"username": "shop", "password": "[secret]"}  # write-only
    expect(page.get_by_role("button", name=re.compile(r"^Trigger"))).to_contain_text("Basic auth")
    assert api.post(f"/api/workflows/{workflow['id']}/enable").status_code == 200
    assert httpx.post(workflow["webhook_url"], json={}, auth=("shop", "s3cret")).status_code == 200
    assert httpx.post(workflow["webhook_url"], json={}, auth=("shop", "wrong")).status_code == 401


def test_an_async_workflow_answers_with_its_configured_response(signed_in: Page, api: httpx.Client) -> None:
    """Status 202, a templated header and a JSON body saved in the drawer are what the webhook answers."""
    page = signed_in
    workflow = new_workflow(api, "Trigger response test", sync=False)
    drawer = open_trigger(page, workflow["id"])
    expect(drawer.get_by_label("Status code")).to_have_value("200")
    expect(drawer.get_by_label("Response body", exact=True)).to_have_value("ok")
    drawer.get_by_label("Status code").fill("202")
    drawer.get_by_role("button", name="Add a header").click()
    drawer.get_by_label("Name of response header 1").fill("X-Order")
    drawer.get_by_label("Value of response header 1", exact=True).fill("{{$context.body.order.id}}")
    drawer.get_by_label("Response body", exact=True).fill(
        '{"received": true, "id": "{{$context.body.order.id}}"}'
    )
    _drawer_screenshot(page, "trigger-drawer")

    page.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()
    config = api.get(f"/api/workflows/{workflow['id']}").json()["config"]
    assert config["response"] == {
        "statusCode": 202,
        "headers": [{"name": "X-Order", "value": "{{$context.body.order.id}}"}],
        "body": {"received": True, "id": "{{$context.body.order.id}}"},
    }
    assert api.post(f"/api/workflows/{workflow['id']}/enable").status_code == 200

    answer = httpx.post(workflow["webhook_url"], json={"order": {"id": 42}}, timeout=10)
    assert answer.status_code == 202, answer.text
    assert answer.headers["x-order"] == "42"
    assert answer.json() == {"received": True, "id": 42}
    assert answer.headers["x-hookline-execution"]


def _import_order_paid(api: httpx.Client) -> dict[str, Any]:
    """examples/order-paid.json under a new key, enabled (sync, Basic auth shop / s3cret)."""
    document = json.loads((REPO_ROOT / "examples" / "order-paid.json").read_text())
    document["key"] = f"ui-order-paid-{uuid.uuid4().hex[:10]}"
    imported = api.post("/api/workflows/import", json=document)
    assert imported.status_code == 201, imported.text
    workflow: dict[str, Any] = imported.json()
    if not workflow["enabled"]:
        assert api.post(f"/api/workflows/{workflow['id']}/enable").status_code == 200
    return workflow


def test_a_version_with_executions_shows_its_trigger_read_only(signed_in: Page, api: httpx.Client) -> None:
    """Once a version has run, its trigger drawer is disabled, without Save, and offers a new version."""
    page = signed_in
    workflow = _import_order_paid(api)
    ran = httpx.post(
        workflow["webhook_url"], json={"order": {"id": 1, "status": "paid"}}, auth=("shop", "s3cret")
    )
    assert ran.status_code == 200, ran.text
    drawer = open_trigger(page, workflow["id"])
    expect(drawer.get_by_text("This version has executions, so it cannot change.")).to_be_visible()
    expect(drawer.get_by_role("button", name="Save")).to_have_count(0)
    expect(drawer.get_by_label("Username")).to_be_disabled()
    expect(drawer.get_by_label("Username")).to_have_value("shop")
    body = drawer.get_by_role("region", name="Body", exact=True)
    expect(body.get_by_label("Alias of order.id")).to_have_value("Order id")
    expect(body.get_by_label("Alias of order.id")).to_be_disabled()
    expect(body.get_by_role("button", name="Delete order.id")).to_have_count(0)
    expect(body.get_by_role("button", name="Parse")).to_be_disabled()
    expect(drawer.get_by_role("button", name="Copy URL")).to_be_enabled()


def test_the_test_request_form_calls_the_webhook_and_links_the_execution(
    signed_in: Page, api: httpx.Client
) -> None:
    """The form, prefilled from the trigger config (not the write-only password), gets the sync answer."""
    page = signed_in
    workflow = _import_order_paid(api)
    page.goto(f"/#/workflows/{workflow['id']}")
    page.get_by_role("button", name="Send a test request").click()
    form = page.get_by_role("dialog", name="Send a test request")
    expect(form.get_by_label("Method")).to_have_value("POST")
    expect(form.get_by_label("Username")).to_have_value("shop")
    expect(form.get_by_label("Password")).to_have_value("")
    form.get_by_label("Password").fill("s3cret")
    skeleton = json.loads(form.get_by_label("JSON body").input_value())
    assert skeleton == {"order": {"id": "", "status": ""}}

    form.get_by_label("Query string").fill("source=ui")
    form.get_by_label("Value of request header 1").fill("req-7")
    form.get_by_label("JSON body").fill('{"order": {"id": 7, "status": "paid"}}')
    form.get_by_role("button", name="Send", exact=True).click()
    answer = form.get_by_role("region", name="Answer")
    expect(answer.locator(".status-line")).to_contain_text("200")
    expect(answer.get_by_label("Response body", exact=True)).to_contain_text('"id": 7')
    expect(answer).to_contain_text("x-order")
    link = answer.get_by_role("link", name="Open the execution")
    href = link.get_attribute("href") or ""
    found = re.fullmatch(r"#/executions/(\d+)", href)
    assert found, href
    execution = api.get(f"/api/executions/{found[1]}").json()
    assert execution["context"]["body"] == {"order": {"id": 7, "status": "paid"}}
    assert execution["context"]["query"] == {"source": "ui"}
    assert execution["context"]["headers"]["x-request-id"] == "req-7"
    _drawer_screenshot(page, "test-request")

    link.click()
    expect(page).to_have_url(re.compile(rf"#/executions/{found[1]}$"))
    expect(form).to_be_hidden()


def test_the_page_is_busy_while_it_is_drawn_again_after_a_save(signed_in: Page, api: httpx.Client) -> None:
    """Saving the trigger redraws the page from the API; meanwhile it says `aria-busy`, then no longer."""
    page = signed_in
    workflow = new_workflow(api, "Busy redraw test", sync=True)
    drawer = open_trigger(page, workflow["id"])
    held: list[Any] = []

    def hold_reads(route: Any) -> None:
        """Keep the page's reads of the workflow waiting until the test lets them go (the save passes)."""
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    pattern = re.compile(rf"/api/workflows/{workflow['id']}$")
    page.route(pattern, hold_reads)
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()
    view = page.locator("#view")
    expect(view).to_have_attribute("aria-busy", "true")
    page.wait_for_timeout(300)  # the page stays busy while its read waits
    expect(view).to_have_attribute("aria-busy", "true")
    assert held, "the redraw did not read the workflow"
    for route in held:
        route.continue_()
    page.unroute(pattern)
    expect(view).to_have_attribute("aria-busy", "false")
    expect(page.get_by_role("button", name="Add a node at the start", exact=True)).to_be_visible()
