"""The executions list and one execution's page: jobs on the canvas, trigger data, answer, replay, resume."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.integration._live_server import REPO_ROOT
from tests.ui._steps import import_workflow
from tests.ui.conftest import screenshot

SHOP = ("shop", "s3cret")


def unique_key() -> str:
    """A workflow key no other test uses."""
    return f"exec-{uuid.uuid4().hex[:12]}"


def order_workflow(api: httpx.Client, key: str | None = None) -> dict[str, Any]:
    """The example "order paid" workflow under a fresh key, enabled."""
    example = json.loads((REPO_ROOT / "examples" / "order-paid.json").read_text())
    return import_workflow(api, {**example, "key": key or unique_key(), "enabled": True})


def failing_workflow(api: httpx.Client, key: str) -> dict[str, Any]:
    """A synchronous version of `key` whose only node ends the execution as failed."""
    end = {
        "key": "stop",
        "type": "end",
        "upstream": None,
        "branchIndex": None,
        "config": {"endStatus": "failed"},
    }
    return import_workflow(
        api,
        {
            "key": key,
            "title": "Order paid",
            "type": "webhook",
            "sync": True,
            "enabled": True,
            "config": {},
            "nodes": [end],
        },
    )


def blocking_workflow(api: httpx.Client, marker: Path, *, sync: bool) -> dict[str, Any]:
    """A workflow whose first node (the test plugin's crash-block) waits until `marker` exists."""
    nodes = [
        {
            "key": "wait",
            "type": "crash-block",
            "upstream": None,
            "branchIndex": None,
            "config": {"marker": str(marker)},
        },
    ]
    if sync:
        done = {"statusCode": 200, "headers": [], "body": {"done": True}}
        nodes.append(
            {"key": "done", "type": "response", "upstream": "wait", "branchIndex": None, "config": done}
        )
    accepted = {
        "statusCode": 202,
        "headers": [{"name": "X-Accepted", "value": "yes"}],
        "body": {"accepted": True},
    }
    return import_workflow(
        api,
        {
            "key": unique_key(),
            "title": "Waits for a marker",
            "type": "webhook",
            "sync": sync,
            "enabled": True,
            "config": {"response": accepted},
            # A synchronous run gives up after 300 ms, which leaves an aborted execution to resume.
            "options": {"timeout": 300} if sync else {},
            "nodes": nodes,
        },
    )


def call(workflow: dict[str, Any], body: Any, expected: int, *, auth: tuple[str, str] | None = None) -> str:
    """POST `body` to the workflow's webhook URL, check the status, and return the execution id."""
    response = httpx.post(
        workflow["webhook_url"], json=body, auth=auth, params={"source": "ui-test"}, timeout=10
    )
    assert response.status_code == expected, response.text
    return response.headers["X-Hookline-Execution"]


def order(status: str) -> dict[str, Any]:
    """An order event body."""
    return {"order": {"id": 42, "status": status}}


def rows(page: Page) -> Any:
    """The rows of the executions table."""
    return page.locator("table.executions tbody tr")


def test_the_list_shows_every_version_and_filters_by_status(signed_in: Page, api: httpx.Client) -> None:
    """Both answered calls are resolved on v1, the failed one is on v2; the filter and Refresh work."""
    workflow = order_workflow(api)
    paid = call(workflow, order("paid"), 200, auth=SHOP)
    unpaid = call(workflow, order("unpaid"), 400, auth=SHOP)
    failing = failing_workflow(api, workflow["key"])
    failed = call(failing, order("paid"), 500)
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}/executions")
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    expect(rows(page)).to_have_count(3)
    for execution in (paid, unpaid):
        row = page.locator(f'tr[data-execution="{execution}"]')
        expect(row.locator(".badge")).to_have_text("resolved")
        expect(row.locator(".badge")).to_have_class(re.compile(r"\bresolved\b"))
        expect(row.get_by_role("cell").nth(2)).to_have_text("v1")
    failed_row = page.locator(f'tr[data-execution="{failed}"]')
    expect(failed_row.locator(".badge")).to_have_text("failed")
    expect(failed_row.get_by_role("cell").nth(2)).to_have_text("v2")
    expect(rows(page).first).to_have_attribute("data-execution", failed)  # newest first
    screenshot(page, "executions-list")

    page.get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"executions\?status=failed$"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-execution", failed)
    expect(page.get_by_label("Status")).to_be_focused()
    page.get_by_label("Status").select_option("canceled")
    expect(page.get_by_text("No execution of this workflow is canceled.")).to_be_visible()
    page.get_by_label("Status").select_option("resolved")
    expect(rows(page)).to_have_count(2)
    page.go_back()
    expect(page.get_by_text("No execution of this workflow is canceled.")).to_be_visible()
    page.get_by_label("Status").select_option("")
    expect(rows(page)).to_have_count(3)

    newer = call(failing, order("paid"), 500)
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(4)
    expect(rows(page).first).to_have_attribute("data-execution", newer)
    page.locator(f'tr[data-execution="{failed}"]').get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(f"#/executions/{failed}$"))
    expect(page.locator(".execution-error")).to_contain_text("node stop ended with status failed")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator('[data-node="stop"] .badge')).to_have_text("failed")


def test_show_older_loads_the_next_page(signed_in: Page, api: httpx.Client) -> None:
    """With 51 executions the list shows 50, and "Show older" adds the oldest one, then goes away."""
    workflow = order_workflow(api)
    first = call(workflow, order("paid"), 200, auth=SHOP)
    with httpx.Client(auth=SHOP, timeout=10) as client:
        for _ in range(50):
            assert client.post(workflow["webhook_url"], json=order("unpaid")).status_code == 400
    page = signed_in
    page.goto(f"/#/workflows/{workflow['id']}/executions")
    expect(rows(page)).to_have_count(50)
    expect(page.locator(f'tr[data-execution="{first}"]')).to_have_count(0)
    page.get_by_role("button", name="Show older").click()
    expect(rows(page)).to_have_count(51)
    expect(rows(page).last).to_have_attribute("data-execution", first)
    expect(page.get_by_role("button", name="Show older")).to_have_count(0)


def test_an_execution_shows_its_jobs_on_the_nodes_that_ran(signed_in: Page, api: httpx.Client) -> None:
    """Paid: the condition is true, "ok" answered, "no" did not run; the context and the answer show."""
    workflow = order_workflow(api)
    paid = call(workflow, order("paid"), 200, auth=SHOP)
    unpaid = call(workflow, order("unpaid"), 400, auth=SHOP)
    page = signed_in
    page.goto(f"/#/executions/{paid}")
    expect(page.get_by_role("heading", name=re.compile(r"^Execution"))).to_contain_text("resolved")
    condition = page.locator('[data-node="paid"]')
    expect(condition.locator(".job .badge")).to_have_text("resolved")
    condition.get_by_text("Result", exact=True).click()
    expect(condition.locator(".job-result pre")).to_have_text("true")
    expect(page.locator('[data-node="ok"] .job .badge')).to_have_text("resolved")
    expect(page.locator('[data-node="no"]')).to_contain_text("did not run")
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)

    context = page.locator("#trigger-context")
    expect(context.locator(".json-block").filter(has_text="Body").locator("pre")).to_contain_text(
        '"status": "paid"'
    )
    expect(context.locator(".json-block").filter(has_text="Query").locator("pre")).to_contain_text(
        '"source": "ui-test"'
    )
    expect(context.locator(".json-block").filter(has_text="Headers").locator("pre")).to_contain_text(
        '"authorization": "[redacted]"'
    )
    response = page.get_by_role("region", name="Response sent")
    expect(response.locator(".response-status")).to_have_text("Status 200")
    expect(response.get_by_role("row").filter(has_text="X-Order")).to_contain_text("42")
    expect(response.locator(".json-block pre")).to_contain_text('"ok": true')
    screenshot(page, "execution-view")

    page.locator('[data-node="paid"] .node-main').click()
    drawer = page.get_by_role("dialog")
    expect(drawer).to_contain_text('"branch": 1')
    page.keyboard.press("Escape")
    expect(drawer).to_have_count(0)

    page.goto(f"/#/executions/{unpaid}")
    condition = page.locator('[data-node="paid"]')
    condition.get_by_text("Result", exact=True).click()
    expect(condition.locator(".job-result pre")).to_have_text("false")
    expect(page.locator('[data-node="no"] .job .badge')).to_have_text("resolved")
    expect(page.locator('[data-node="ok"]')).to_contain_text("did not run")
    expect(page.get_by_role("region", name="Response sent").locator(".response-status")).to_have_text(
        "Status 400"
    )


def test_replay_runs_the_same_event_again_and_opens_the_new_execution(
    signed_in: Page, api: httpx.Client
) -> None:
    """Replay of a synchronous execution creates a finished one with the same trigger data and shows it."""
    workflow = order_workflow(api)
    paid = call(workflow, order("paid"), 200, auth=SHOP)
    page = signed_in
    page.goto(f"/#/executions/{paid}")
    expect(page.get_by_role("heading", name=re.compile(r"^Execution"))).to_contain_text("resolved")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Replayed: the new execution resolved and answered 200."
    )
    expect(page).not_to_have_url(re.compile(f"#/executions/{paid}$"))
    replayed = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", name=re.compile(r"^Execution"))).to_contain_text(replayed[-8:])
    expect(page.locator('[data-node="ok"] .job .badge')).to_have_text("resolved")
    executions = api.get("/api/executions", params={"workflow": workflow["key"]}).json()["items"]
    assert [e["id"] for e in executions] == [replayed, paid]
    assert executions[0]["context"] == executions[1]["context"]


def test_resume_continues_an_aborted_execution_from_the_node_that_stopped(
    signed_in: Page, api: httpx.Client, tmp_path: Path
) -> None:
    """A run that timed out waiting is aborted; once the wait can end, Resume finishes it on screen."""
    marker = tmp_path / "go"
    workflow = blocking_workflow(api, marker, sync=True)
    try:
        aborted = call(workflow, {"n": 1}, 408)
        page = signed_in
        page.goto(f"/#/executions/{aborted}")
        expect(page.get_by_role("heading", name=re.compile(r"^Execution"))).to_contain_text("aborted")
        expect(page.locator(".execution-error")).to_contain_text("timeout")
        expect(page.locator('[data-node="done"]')).to_contain_text("did not run")
        marker.touch()
        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_role("status")).to_contain_text("Resumed")
        expect(page.get_by_role("heading", name=re.compile(r"^Execution"))).to_contain_text("resolved")
        expect(page.locator('[data-node="wait"] .job .badge')).to_have_text("resolved")
        expect(page.locator('[data-node="done"] .job .badge')).to_have_text("resolved")
        expect(page.get_by_role("button", name="Resume")).to_have_count(0)
    finally:
        marker.touch()  # never leave a run waiting in the shared server


def test_an_async_execution_updates_by_itself_and_can_be_canceled(
    signed_in: Page, api: httpx.Client, tmp_path: Path
) -> None:
    """A waiting async run shows the acceptance answer and Cancel; another finishes on screen when it may."""
    marker = tmp_path / "go"
    workflow = blocking_workflow(api, marker, sync=False)
    try:
        to_cancel = call(workflow, {"n": 1}, 202)
        to_finish = call(workflow, {"n": 2}, 202)
        page = signed_in
        page.goto(f"/#/executions/{to_cancel}")
        heading = page.get_by_role("heading", name=re.compile(r"^Execution"))
        expect(heading).to_contain_text(re.compile("queued|started"))
        expect(page.locator(".running-note")).to_contain_text("this page updates by itself")
        response = page.get_by_role("region", name="Response sent")
        expect(response).to_contain_text("asynchronous")
        expect(response.locator(".response-status")).to_have_text("Status 202")
        expect(response.get_by_role("row").filter(has_text="X-Accepted")).to_contain_text("yes")
        page.get_by_role("button", name="Cancel").click()
        expect(heading).to_contain_text("canceled")
        expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
        assert api.get(f"/api/executions/{to_cancel}").json()["status"] == "canceled"

        page.goto(f"/#/executions/{to_finish}")
        expect(heading).to_contain_text(re.compile("queued|started"))
        expect(page.locator('[data-node="wait"]')).to_contain_text("not run yet")
        marker.touch()
        expect(heading).to_contain_text("resolved")
        expect(page.locator('[data-node="wait"] .job .badge')).to_have_text("resolved")
        expect(page.locator(".running-note")).to_have_count(0)
    finally:
        marker.touch()  # never leave a run waiting in the shared server
