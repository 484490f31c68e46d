"""Signing in and out, and what a wrong token or an empty list shows."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.ui.conftest import TOKEN, screenshot, sign_in


def test_a_wrong_token_is_refused_with_a_clear_message(page: Page) -> None:
    """A wrong token keeps the sign-in form and says the token is wrong."""
    sign_in(page, "not-the-token")
    expect(page.get_by_role("alert")).to_have_text("That token is wrong. Check it and try again.")
    expect(page.get_by_label("Admin token")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "sign-in-wrong-token")


def test_signing_in_shows_the_workflows_and_signing_out_forgets_the_token(page: Page) -> None:
    """The right token opens the workflows list; Sign out returns to the form and a reload stays there."""
    sign_in(page, TOKEN)
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Admin token")).to_be_visible()
