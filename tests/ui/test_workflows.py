"""The workflows list, creating a workflow, the workflow page, and versions — in the browser."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.ui._steps import import_example, unique
from tests.ui.conftest import screenshot


def test_creating_a_workflow_opens_its_page_and_lists_it(signed_in: Page, api: httpx.Client) -> None:
    """New workflow → title and mode → its page with the trigger card; the list shows it as Sync, v1."""
    title = unique("Created in the UI")
    page = signed_in
    page.get_by_role("button", name="New workflow").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Asynchronous").check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_role("button", name="Trigger Webhook event")).to_be_visible()
    expect(page.get_by_text("Version 1 of 1")).to_be_visible()
    created = next(w for w in api.get("/api/workflows", params={"q": title}).json()["items"])
    assert created["sync"] is False
    assert created["enabled"] is False
    page.get_by_role("link", name="Workflows").first.click()
    page.get_by_role("searchbox", name="Search workflows").fill(title)
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_have_count(1)
    expect(row.get_by_text("Async")).to_be_visible()
    expect(row.get_by_text("v1 of 1")).to_be_visible()


def test_a_blank_title_is_shown_next_to_the_title_field(signed_in: Page) -> None:
    """The API's 422 for a blank title appears under the Title field, and nothing is created."""
    page = signed_in
    page.get_by_role("button", name="New workflow").click()
    page.get_by_label("Title").fill("   ")
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".field[data-where=title] .field-error")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "new-workflow-error")


def test_the_list_shows_recent_runs_with_failures_and_the_enabled_switch(
    signed_in: Page, api: httpx.Client
) -> None:
    """Runs of the last 24 h appear per workflow, failures highlighted; the switch disables it."""
    failing = import_example(
        api,
        title=unique("Always fails"),
        nodes=[
            {
                "key": "stop",
                "type": "end",
                "upstream": None,
                "branchIndex": None,
                "config": {"endStatus": "failed"},
            }
        ],
    )
    for _ in range(2):
        assert (
            api.post(f"/api/webhook:trigger/{failing['key']}", json={}, auth=("shop", "s3cret")).status_code
            == 500
        )
    page = signed_in
    page.reload()
    row = page.get_by_role("row").filter(has_text=failing["title"])
    expect(row.get_by_text("2 failed")).to_be_visible()
    expect(row.get_by_text("2 runs")).to_be_visible()
    switch = row.get_by_role("switch")
    expect(switch).to_be_checked()
    screenshot(page, "workflows-list")
    switch.click()
    expect(page.get_by_role("status")).to_contain_text("disabled")
    assert api.get(f"/api/workflows/{failing['id']}").json()["enabled"] is False


def test_an_executed_version_is_frozen_and_a_new_version_can_be_made_and_enabled(
    signed_in: Page, api: httpx.Client
) -> None:
    """After a run the page offers a new version instead of editing; enabling the copy makes it current."""
    workflow = import_example(api, title=unique("Versioned"))
    paid = {"order": {"id": 7, "status": "paid"}}
    assert (
        api.post(f"/api/webhook:trigger/{workflow['key']}", json=paid, auth=("shop", "s3cret")).status_code
        == 200
    )
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}")
    expect(page.get_by_text("This version has run 1 time, so it cannot change.")).to_be_visible()
    expect(page.get_by_role("button", name="Add a node at the start", exact=True)).to_have_count(0)
    screenshot(page, "workflow-frozen")
    page.get_by_role("button", name="Create a new version").click()
    expect(page.get_by_text("Version 2 of 2")).to_be_visible()
    expect(page.get_by_role("button", name="Add a node at the start", exact=True)).to_be_visible()
    page.get_by_role("button", name="Versions").click()
    drawer = page.get_by_role("dialog", name="Versions")
    expect(drawer.locator("li[data-version='1']").get_by_text("current")).to_be_visible()
    drawer.locator("li[data-version='2']").get_by_role("button", name="Enable").click()
    expect(page.get_by_text("Version 2 of 2")).to_be_visible()
    expect(page.locator(".version-bar").get_by_text("current")).to_be_visible()
    versions = api.get(f"/api/workflows/{workflow['id']}/versions").json()["items"]
    assert [(v["current"], v["enabled"]) for v in versions] == [(False, False), (True, True)]


def test_the_canvas_draws_branches_in_labelled_columns(signed_in: Page, api: httpx.Client) -> None:
    """The example's condition splits into a Yes column holding `ok` and a No column holding `no`."""
    workflow = import_example(api, title=unique("Branches"))
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}")
    yes = page.locator(".column[data-branch='1']")
    no = page.locator(".column[data-branch='0']")
    expect(yes.locator(".branch-label")).to_have_text("Yes")
    expect(yes.locator("[data-node=ok]")).to_be_visible()
    expect(no.locator(".branch-label")).to_have_text("No")
    expect(no.locator("[data-node=no]")).to_be_visible()
    screenshot(page, "workflow-canvas")


def test_keyboard_opens_and_closes_a_drawer_and_focus_returns(signed_in: Page) -> None:
    """Tab reaches "New workflow", Enter opens its drawer, Escape closes it and focus goes back."""
    page = signed_in
    button = page.get_by_role("button", name="New workflow")
    for _ in range(12):
        page.keyboard.press("Tab")
        if button.evaluate("node => node === document.activeElement"):
            break
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="New workflow")).to_be_visible()
    expect(page.get_by_label("Title")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(button).to_be_focused()


def test_the_list_and_a_workflow_fit_a_narrow_window(signed_in: Page, api: httpx.Client) -> None:
    """At 375 px wide nothing but the canvas scrolls sideways, and the main controls stay visible."""
    workflow = import_example(api, title=unique("Narrow"))
    page = signed_in
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(page.get_by_role("button", name="New workflow")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "workflows-list-narrow")
    page.goto(f"/#/workflows/{workflow['id']}")
    expect(page.get_by_role("button", name="Send a test request")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "workflow-narrow")


def test_the_node_menu_copies_a_key_and_deletes_a_node_with_its_branches(
    signed_in: Page, api: httpx.Client
) -> None:
    """The node menu copies its key; Delete (confirmed) removes the condition with both branches."""
    workflow = import_example(api, title=unique("Menu"), enabled=False)
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}")
    page.get_by_role("button", name="Menu of paid").click()
    page.get_by_role("menuitem", name="Copy key").click()
    expect(page.get_by_role("status")).to_contain_text("Copied the key paid.")
    assert page.evaluate("navigator.clipboard.readText()") == "paid"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Menu of paid").click()
    page.get_by_role("menuitem", name="Delete").click()
    expect(page.locator(".canvas .node:not(.trigger)")).to_have_count(0)
    assert api.get(f"/api/workflows/{workflow['id']}").json()["nodes"] == []


def test_a_dismissed_delete_keeps_the_node(signed_in: Page, api: httpx.Client) -> None:
    """Cancelling the confirmation deletes nothing."""
    workflow = import_example(api, title=unique("Keep"), enabled=False)
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Menu of ok").click()
    page.get_by_role("menuitem", name="Delete").click()
    expect(page.locator("[data-node=ok]")).to_be_visible()
    assert len(api.get(f"/api/workflows/{workflow['id']}").json()["nodes"]) == 3


def test_settings_save_the_title_and_options_and_show_problems(signed_in: Page, api: httpx.Client) -> None:
    """Settings change the title and each option; a value the API refuses is shown at its field."""
    workflow = import_example(api, "order-paid-async.json", title=unique("Settings"), enabled=False)
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}")
    page.get_by_role("button", name="Settings").click()
    drawer = page.get_by_role("dialog", name="Settings")
    drawer.get_by_label("Queue limit").fill("0")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer.locator(".field[data-where='options.queueLimit'] .field-error")).to_contain_text(
        "1 or more"
    )
    drawer.get_by_label("Title").fill("Renamed in settings")
    drawer.get_by_label("Timeout (ms)").fill("2500")
    drawer.get_by_label("Concurrency").fill("2")
    drawer.get_by_label("Queue limit").fill("100")
    drawer.get_by_label("Keep successful runs (days)").fill("0")
    drawer.get_by_label("Deduplicate by").fill("Idempotency-Key")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer.locator(".field[data-where='options.dedupe.source'] .field-error")).to_be_visible()
    drawer.get_by_label("Deduplicate by").fill("headers.idempotency-key")
    drawer.get_by_label("Window (seconds)").fill("600")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer).to_be_hidden()
    expect(page.get_by_role("heading", name="Renamed in settings")).to_be_visible()
    saved = api.get(f"/api/workflows/{workflow['id']}").json()
    assert saved["title"] == "Renamed in settings"
    assert saved["options"] == {
        "timeout": 2500,
        "concurrency": 2,
        "queueLimit": 100,
        "dedupe": {"source": "headers.idempotency-key", "window": 600},
        "retention": {"successDays": 0},
    }


def test_export_downloads_the_workflow_json(signed_in: Page, api: httpx.Client) -> None:
    """Export saves <key>.json, the same JSON as the API's export."""
    workflow = import_example(api, title=unique("Exported"))
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    assert download.value.suggested_filename == f"{workflow['key']}.json"
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved == api.get(f"/api/workflows/{workflow['id']}/export").json()
