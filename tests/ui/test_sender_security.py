"""The trigger drawer's Security section (signature, write-only secrets, API key, allow-list), signing."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.ui._contrast import low_contrast
from tests.ui._steps import enabled_workflow, new_workflow, open_trigger, save
from tests.ui.conftest import screenshot

STRIPE_SECRET = "whsec_ui_stripe_0123456789"


def _github_post(url: str, body: bytes, secret: str, auth: tuple[str, str]) -> httpx.Response:
    """POST `body` with Basic credentials `auth`, signed as GitHub signs it with `secret`."""
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    return httpx.post(url, content=body, headers=headers, auth=auth, timeout=10)


def _send(form: Locator) -> Locator:
    """Press Send in the test-request form; the answer region once it holds a status line."""
    form.get_by_role("button", name="Send", exact=True).click()
    answer = form.get_by_role("region", name="Answer")
    expect(answer.locator(".status-line")).to_be_visible()
    return answer


def _new_signature_part(page: Page, api: httpx.Client, title: str) -> tuple[dict[str, Any], Locator, Locator]:
    """A new workflow with its trigger drawer open: the workflow, the drawer, and its Signature part."""
    workflow = new_workflow(api, title, sync=True)
    drawer = open_trigger(page, workflow["id"])
    return workflow, drawer, drawer.get_by_role("region", name="Signature")


def test_a_stripe_signature_set_in_the_ui_checks_signed_and_unsigned_test_requests(
    signed_in: Page, api: httpx.Client
) -> None:
    """Stripe is saved with a secret; the form's signed request passes, the unsigned one gets 401."""
    page = signed_in
    workflow, drawer, signature = _new_signature_part(page, api, "Stripe signature test")
    expect(signature.get_by_label("Tolerance (seconds)")).to_be_hidden()
    signature.get_by_label("Signature check").select_option("stripe")
    expect(signature.get_by_text("Checks Stripe's Stripe-Signature header")).to_be_visible()
    expect(signature.get_by_label("Tolerance (seconds)")).to_be_visible()
    expect(signature.get_by_label("Signature header")).to_be_hidden()  # the generic scheme's fields
    signature.get_by_label("Signing secret 1", exact=True).fill(STRIPE_SECRET)
    signature.get_by_label("Tolerance (seconds)").fill("600")
    save(drawer)

    config = api.get(f"/api/workflows/{workflow['id']}").json()["config"]
    assert config["signature"] == {"preset": "stripe", "secrets": ["[secret:0]"], "tolerance": 600}
    expect(page.get_by_role("button", name=re.compile(r"^Trigger"))).to_contain_text("Stripe signature")
    assert api.post(f"/api/workflows/{workflow['id']}/enable").status_code == 200
    page.reload()

    page.get_by_role("button", name="Send a test request").click()
    form = page.get_by_role("dialog", name="Send a test request")
    sign = form.get_by_label("Sign with the configured preset (Stripe)")
    expect(sign).to_be_checked()
    form.get_by_label("JSON body").fill('{"type": "payment_intent.succeeded"}')
    answer = _send(form)
    expect(answer.locator(".status-line")).to_contain_text("200")
    expect(answer.locator("dl.answer-headers").first).to_contain_text(re.compile(r"t=\d+,v1=[0-9a-f]{64}"))
    screenshot(page, "test-request-signed")

    sign.uncheck()
    answer = _send(form)
    expect(answer.locator(".status-line")).to_contain_text("401")
    expect(answer.get_by_label("Response body", exact=True)).to_contain_text("signature_missing")


def test_a_stored_secret_shows_as_set_and_survives_a_save_that_leaves_it(
    signed_in: Page, api: httpx.Client
) -> None:
    """Stored secrets show as set, never as values; a save that leaves them keeps them; a second is added."""
    page = signed_in
    workflow = enabled_workflow(
        api,
        {
            "basicAuthentication": {"username": "shop", "password": "pass-0123"},
            "signature": {"preset": "github", "secrets": ["gh-old-secret"]},
            "request": {"headers": [], "query": [], "body": []},
        },
    )
    drawer = open_trigger(page, workflow["id"])
    signature = drawer.get_by_role("region", name="Signature")
    expect(signature.get_by_label("Signature check")).to_have_value("github")
    expect(signature.get_by_role("group", name="Signing secret 1")).to_contain_text("set")
    expect(drawer.get_by_role("group", name="Password")).to_contain_text("set")
    for value in ("gh-old-secret", "pass-0123"):
        assert value not in drawer.inner_html()
    # Replace, by keyboard, opens a box to type a new one; "Keep the stored one" puts it back.
    signature.get_by_role("button", name="Replace signing secret 1").focus()
    page.keyboard.press("Enter")
    expect(signature.get_by_label("Signing secret 1", exact=True)).to_be_focused()
    signature.get_by_role("button", name="Keep the stored one").click()
    expect(signature.get_by_role("group", name="Signing secret 1")).to_contain_text("set")
    signature.get_by_role("button", name="Add a secret (rotation)").click()
    signature.get_by_label("Signing secret 2", exact=True).fill("gh-new-secret")
    signature.scroll_into_view_if_needed()
    screenshot(page, "trigger-security")
    assert low_contrast(page) == []
    save(drawer)

    config = api.get(f"/api/workflows/{workflow['id']}").json()["config"]
    assert config["signature"]["secrets"] == ["[secret:0]", "[secret:1]"]
    body = b'{"zen": "Keep it logically awesome."}'
    auth = ("shop", "pass-0123")
    assert _github_post(workflow["webhook_url"], body, "gh-old-secret", auth).status_code == 200
    assert _github_post(workflow["webhook_url"], body, "gh-new-secret", auth).status_code == 200
    assert _github_post(workflow["webhook_url"], body, "gh-wrong", auth).status_code == 401


def test_removing_the_first_of_two_stored_keys_keeps_the_second(signed_in: Page, api: httpx.Client) -> None:
    """Rotation: removing stored key 1 keeps key 2 without typing it again; then only key 2 passes."""
    page = signed_in
    workflow = enabled_workflow(
        api,
        {
            "apiKey": {"header": "X-Api-Key", "keys": ["key-one-0123", "key-two-0123"]},
            "request": {"headers": [], "query": [], "body": []},
        },
    )
    drawer = open_trigger(page, workflow["id"])
    keys = drawer.get_by_role("region", name="API key")
    expect(keys.get_by_role("switch", name="Require an API key")).to_be_checked()
    expect(keys.get_by_role("group", name="API key 2")).to_contain_text("set")
    keys.get_by_role("button", name="Remove API key 1").click()
    expect(keys.get_by_role("group", name="API key 1")).to_contain_text("set")  # the second, moved up
    expect(keys.get_by_role("group", name="API key 2")).to_have_count(0)
    expect(keys.locator('input[type="password"]')).to_have_count(0)  # nothing to type again
    save(drawer)

    assert api.get(f"/api/workflows/{workflow['id']}").json()["config"]["apiKey"]["keys"] == ["[secret:0]"]
    url = workflow["webhook_url"]
    assert httpx.post(url, json={}, headers={"X-Api-Key": "key-two-0123"}).status_code == 200
    assert httpx.post(url, json={}, headers={"X-Api-Key": "key-one-0123"}).status_code == 401


def test_a_twilio_test_request_signs_its_query_string(signed_in: Page, api: httpx.Client) -> None:
    """The query string typed in the test form is signed with the URL: Twilio's check passes (200)."""
    page = signed_in
    signature = {"preset": "twilio", "secrets": ["twilio-ui-token-0123"]}
    workflow = enabled_workflow(
        api, {"signature": signature, "request": {"headers": [], "query": [], "body": []}}
    )
    page.goto(f"/#/workflows/{workflow['id']}")
    page.get_by_role("button", name="Send a test request").click()
    form = page.get_by_role("dialog", name="Send a test request")
    expect(form.get_by_label("Sign with the configured preset (Twilio)")).to_be_checked()
    expect(form.get_by_text("not signed")).to_have_count(0)
    form.get_by_label("Query string").fill("source=shop&note=café au lait")
    form.get_by_label("Body format").select_option("form")
    form.get_by_label("Form body").fill("CallSid=CA1&Body=hello")
    answer = _send(form)
    expect(answer.locator(".status-line")).to_contain_text("200")
    expect(answer.locator("dl.answer-headers").first).to_contain_text("X-Twilio-Signature")
    href = answer.get_by_role("link", name="Open the execution").get_attribute("href") or ""
    execution = api.get(f"/api/executions/{href.rsplit('/', 1)[-1]}").json()
    assert execution["context"]["query"] == {"source": "shop", "note": "café au lait"}
    assert execution["context"]["body"] == {"CallSid": "CA1", "Body": "hello"}


def test_server_problems_show_beside_the_security_fields(signed_in: Page, api: httpx.Client) -> None:
    """An empty signing secret and a bad allow-list line are refused beside their fields, naming the line."""
    page = signed_in
    workflow = new_workflow(api, "Security problems test", sync=True)
    drawer = open_trigger(page, workflow["id"])
    drawer.get_by_role("region", name="Signature").get_by_label("Signature check").select_option("github")
    allow = drawer.get_by_role("region", name="Allowed addresses")
    allow.get_by_role("switch", name="Allow only listed addresses").check()
    allow.get_by_label("Addresses", exact=True).fill("203.0.113.0/24\n300.1.2.3\n2001:db8::/32")
    drawer.get_by_role("button", name="Save").click()

    secret_problem = drawer.locator('[data-where="config.signature.secrets[0]"] .field-error')
    expect(secret_problem).to_have_text("must be a non-empty string")
    expect(drawer.get_by_label("Signing secret 1", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(allow.locator(".field-error")).to_contain_text("Line 2 (300.1.2.3)")
    expect(allow.get_by_label("Addresses", exact=True)).to_have_attribute("aria-invalid", "true")
    assert api.get(f"/api/workflows/{workflow['id']}").json()["config"].get("signature") is None

    drawer.get_by_label("Signing secret 1", exact=True).fill("{{$env.NOT_ALLOWED_HERE}}")
    expect(drawer.get_by_label("Signing secret 1", exact=True)).to_have_attribute(
        "type", "text"
    )  # a reference shows
    allow.get_by_label("Addresses", exact=True).fill("203.0.113.0/24\n2001:db8::/32")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer.locator('[data-where="config.signature.secrets[0]"] .field-error')).to_contain_text(
        "NOT_ALLOWED_HERE"
    )
    drawer.get_by_label("Signing secret 1", exact=True).fill("gh-secret-0123")
    save(drawer)
    config = api.get(f"/api/workflows/{workflow['id']}").json()["config"]
    assert config["allowFrom"] == ["203.0.113.0/24", "2001:db8::/32"]
    assert config["signature"] == {"preset": "github", "secrets": ["[secret:0]"]}


def test_the_generic_hmac_scheme_shows_its_own_fields_and_saves_them(
    signed_in: Page, api: httpx.Client
) -> None:
    """Generic HMAC shows its own fields (the tolerance once a timestamp header is named); all are saved."""
    page = signed_in
    workflow, drawer, signature = _new_signature_part(page, api, "HMAC signature test")
    signature.get_by_label("Signature check").select_option("hmac")
    tolerance = signature.get_by_label("Tolerance (seconds)")
    expect(tolerance).to_be_hidden()
    expect(signature.get_by_label("Public URL Twilio calls")).to_be_hidden()
    signature.get_by_label("Algorithm").select_option("sha512")
    signature.get_by_label("Signature header").fill("X-Signature")
    signature.get_by_label("Prefix").fill("v1=")
    signature.get_by_label("Encoding").select_option("base64")
    signature.get_by_label("Signed content").fill("{timestamp}.{body}")
    signature.get_by_label("Timestamp header").fill("X-Timestamp")
    expect(tolerance).to_be_visible()
    tolerance.fill("120")
    signature.get_by_label("Signing secret 1", exact=True).fill("hmac-secret-0123")
    save(drawer)

    assert api.get(f"/api/workflows/{workflow['id']}").json()["config"]["signature"] == {
        "preset": "hmac",
        "secrets": ["[secret:0]"],
        "algorithm": "sha512",
        "header": "X-Signature",
        "prefix": "v1=",
        "encoding": "base64",
        "content": "{timestamp}.{body}",
        "timestampHeader": "X-Timestamp",
        "tolerance": 120,
    }
