"""Listening for a test request, body samples in other formats, the Body formats section, multipart tests."""

from __future__ import annotations

import json
import re
import subprocess

import httpx
from playwright.sync_api import Page, expect

from tests.ui._contrast import low_contrast
from tests.ui._path_tables import expect_keys
from tests.ui._steps import enabled_workflow, new_workflow, open_trigger, save
from tests.ui.conftest import screenshot

XML_SAMPLE = '<order id="42"><status>paid</status><item sku="A"/><item sku="B"/></order>'
ARMING_TRIES = 100


def _curl(url: str, body: str, *headers: str) -> tuple[int, str]:
    """POST a JSON body with curl, as a person testing a webhook would; its status and body."""
    command = ["curl", "-sS", "-X", "POST", url, "-H", "Content-Type: application/json", "--data", body]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run([*command, "-w", "\n%{http_code}"], capture_output=True, text=True, check=True)
    text, _, status = done.stdout.rpartition("\n")
    return int(status), text


def _send_until_captured(page: Page, url: str, body: str, *headers: str) -> str:
    """POST with curl to `url` until the capture the page armed takes the request (202); its body.

    Arming happens in the server after the browser's request leaves, and nothing outside the
    server shows it; a request before that simply runs the empty workflow (200).
    """
    for _ in range(ARMING_TRIES):
        status, text = _curl(url, body, *headers)
        if status == 202:
            return text
        assert status == 200, text
        page.wait_for_timeout(50)
    raise AssertionError(f"no capture took a request in {ARMING_TRIES} tries")


def test_listen_captures_a_request_and_adds_its_paths(signed_in: Page, api: httpx.Client) -> None:
    """Listen, a request sent with curl is captured and shown; its paths are added and saved."""
    page = signed_in
    workflow = enabled_workflow(api)
    drawer = open_trigger(page, workflow["id"])
    with page.expect_response(re.compile(r"/capture$"), timeout=30_000) as capture:
        with page.expect_request(re.compile(r"/capture$")):
            drawer.get_by_role("button", name="Listen for a test request").click()
        expect(drawer.get_by_role("button", name="Cancel")).to_be_visible()
        answer = _send_until_captured(
            page,
            workflow["webhook_url"] + "?source=curl&tag=a",
            '{"order": {"id": 7, "status": "paid"}}',
            "X-Request-Id: req-1",
        )
    assert json.loads(answer) == {"captured": True}
    paths = capture.value.json()["paths"]
    assert paths["body"] == ["order", "order.id", "order.status"]
    expect(drawer.get_by_text("Captured a POST request.")).to_be_visible()
    expect(drawer.get_by_label("Captured body")).to_contain_text('"status": "paid"')
    expect(drawer.get_by_role("button", name="Cancel")).to_be_hidden()

    drawer.get_by_role("button", name=f"Add {len(paths['query'])} query paths").click()
    drawer.get_by_role("button", name="Add 3 body paths").click()
    expect(drawer.get_by_text("Body: Added 3 new paths of 3.")).to_be_visible()
    expect_keys(drawer.get_by_role("region", name="Query"), paths["query"])
    expect_keys(drawer.get_by_role("region", name="Body", exact=True), paths["body"])
    screenshot(page, "trigger-listen")
    assert low_contrast(page) == []
    save(drawer)
    request = api.get(f"/api/workflows/{workflow['id']}").json()["config"]["request"]
    assert [item["key"] for item in request["body"]] == ["order", "order.id", "order.status"]
    assert [item["key"] for item in request["query"]] == paths["query"]


def test_listening_can_be_cancelled(signed_in: Page, api: httpx.Client) -> None:
    """Cancel stops waiting at once and says so; Listen is offered again."""
    page = signed_in
    workflow = enabled_workflow(api)
    drawer = open_trigger(page, workflow["id"])
    drawer.get_by_role("button", name="Listen for a test request").click()
    drawer.get_by_role("button", name="Cancel").click()
    expect(drawer.get_by_text("Stopped listening.")).to_be_visible()
    expect(drawer.get_by_role("button", name="Listen again")).to_be_enabled()


def test_an_xml_sample_is_parsed_into_body_paths(signed_in: Page, api: httpx.Client) -> None:
    """With the XML format chosen, Parse lists the paths the API gives for the same sample."""
    page = signed_in
    workflow = new_workflow(api, "XML sample test", sync=True)
    parsed = api.post("/api/parse/body", json={"text": XML_SAMPLE, "contentType": "application/xml"})
    assert parsed.status_code == 200, parsed.text
    paths = parsed.json()["paths"]
    assert "order.status" in paths

    drawer = open_trigger(page, workflow["id"])
    body = drawer.get_by_role("region", name="Body", exact=True)
    body.get_by_label("Sample format").select_option("xml")
    body.get_by_label("Sample XML body").fill(XML_SAMPLE)
    body.get_by_role("button", name="Parse").click()
    expect_keys(body, paths)

    body.get_by_label("Sample XML body").fill("<order><status>paid</order>")
    body.get_by_role("button", name="Parse").click()
    expect(body.locator(".field-error")).to_be_visible()
    expect(body.get_by_label("Sample XML body")).to_have_attribute("aria-invalid", "true")


def test_the_raw_body_setting_is_saved_and_keeps_the_bytes(signed_in: Page, api: httpx.Client) -> None:
    """Ticking "Keep the raw body" saves rawBody: true; a request's execution then holds its body as sent."""
    page = signed_in
    workflow = enabled_workflow(api)
    drawer = open_trigger(page, workflow["id"])
    formats = drawer.get_by_role("region", name="Body formats")
    raw = formats.get_by_label("Keep the raw body as $context.rawBody")
    expect(raw).not_to_be_checked()
    raw.check()
    save(drawer)
    assert api.get(f"/api/workflows/{workflow['id']}").json()["config"]["request"]["rawBody"] is True

    drawer = open_trigger(page)
    expect(drawer.get_by_label("Keep the raw body as $context.rawBody")).to_be_checked()
    sent = httpx.post(
        workflow["webhook_url"], content=b"a=1&b=%20two", headers={"Content-Type": "text/plain"}
    )
    assert sent.status_code == 200, sent.text
    execution = api.get(f"/api/executions/{sent.headers['x-hookline-execution']}").json()
    assert execution["context"]["rawBody"] == "a=1&b=%20two"


def test_the_files_limits_are_typed_in_mib_and_saved_in_bytes(signed_in: Page, api: httpx.Client) -> None:
    """Keeping uploaded files saves both limits in bytes; an empty limit is refused beside its box."""
    page = signed_in
    workflow = new_workflow(api, "Files setting test", sync=True)
    drawer = open_trigger(page, workflow["id"])
    formats = drawer.get_by_role("region", name="Body formats")
    formats.get_by_role("switch", name="Keep uploaded files").check()
    formats.get_by_label("Largest file (MiB)").fill("")
    drawer.get_by_role("button", name="Save").click()
    expect(formats.locator('[data-where="config.request.files.maxFileSize"] .field-error')).to_have_text(
        "Type a size in MiB, e.g. 10 or 0.5."
    )
    formats.get_by_label("Largest file (MiB)").fill("0.5")
    save(drawer)
    files = api.get(f"/api/workflows/{workflow['id']}").json()["config"]["request"]["files"]
    assert files == {"maxFileSize": 512 * 1024, "maxTotal": 25 * 1024 * 1024}


def test_the_test_request_form_sends_a_multipart_body(signed_in: Page, api: httpx.Client) -> None:
    """Multipart fields and a file typed in the form reach the workflow as nested fields and file metadata."""
    page = signed_in
    workflow = enabled_workflow(api)
    page.goto(f"/#/workflows/{workflow['id']}")
    page.get_by_role("button", name="Send a test request").click()
    form = page.get_by_role("dialog", name="Send a test request")
    form.get_by_label("Body format").select_option("multipart")
    expect(form.get_by_label("JSON body")).to_be_hidden()
    form.get_by_role("button", name="Add a field").click()
    form.get_by_label("Name of form field 1").fill("order[id]")
    form.get_by_label("Value of form field 1").fill("42")
    form.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "note.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    form.get_by_role("button", name="Send", exact=True).click()
    answer = form.get_by_role("region", name="Answer")
    expect(answer.locator(".status-line")).to_contain_text("200")
    href = answer.get_by_role("link", name="Open the execution").get_attribute("href") or ""
    execution = api.get(f"/api/executions/{href.rsplit('/', 1)[-1]}").json()
    body = execution["context"]["body"]
    assert body["order"] == {"id": "42"}
    assert body["file"]["filename"] == "note.txt"
    assert body["file"]["size"] == 5
