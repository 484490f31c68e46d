"""The contrast check the browser tests run on a page (the script is tests/ui/contrast.js)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

# Run in the page: the texts below WCAG AA contrast, each as "TAG.class \"text\" ratio".
CONTRAST = (Path(__file__).parent / "contrast.js").read_text()


def low_contrast(page: Page) -> list[str]:
    """The visible texts of the page whose contrast is below WCAG AA."""
    found: list[str] = page.evaluate(CONTRAST)
    return found
