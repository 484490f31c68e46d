"""Contrast and focus: text is readable (WCAG AA) and the keyboard focus is always visible."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.ui._contrast import low_contrast
from tests.ui._steps import import_example


def test_the_main_screens_have_enough_contrast(signed_in: Page, api: httpx.Client) -> None:
    """The list, a workflow, its trigger drawer, and an execution: every text meets WCAG AA contrast."""
    page = signed_in
    workflow = import_example(api, title="Contrast check")
    answer = httpx.post(
        workflow["webhook_url"], json={"order": {"id": 1, "status": "paid"}}, auth=("shop", "s3cret")
    )
    assert answer.status_code == 200
    page.reload()
    expect(page.get_by_role("link", name="Contrast check")).to_be_visible()
    assert low_contrast(page) == []
    page.goto(f"/#/workflows/{workflow['id']}")
    expect(page.get_by_role("heading", name="Contrast check")).to_be_visible()
    assert low_contrast(page) == []
    page.get_by_role("button", name="Trigger Webhook event").click()
    expect(page.get_by_role("dialog", name="Webhook trigger")).to_be_visible()
    assert low_contrast(page) == []
    page.goto(f"/#/executions/{answer.headers['x-hookline-execution']}")
    expect(page.get_by_text("Trigger context")).to_be_visible()
    assert low_contrast(page) == []


def test_the_keyboard_focus_is_visible_on_every_control(signed_in: Page, api: httpx.Client) -> None:
    """Tabbing through a workflow page, each focused control shows an outline."""
    page = signed_in
    workflow = import_example(api, title="Focus check")
    page.goto(f"/#/workflows/{workflow['id']}")
    expect(page.get_by_role("heading", name="Focus check")).to_be_visible()
    seen = 0
    for _ in range(25):
        page.keyboard.press("Tab")
        style = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
        )
        if style[0] == "BODY":
            continue
        seen += 1
        assert style[1] != "none", f"no visible focus on {style[0]}"
        assert style[2] != "0px", f"no visible focus on {style[0]}"
    assert seen >= 20
