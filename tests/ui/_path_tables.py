"""What the UI tests read of the trigger drawer's path tables."""

from __future__ import annotations

from playwright.sync_api import Locator, expect


def expect_keys(part: Locator, keys: list[str]) -> None:
    """The key inputs of the path table in `part` hold `keys`, in order."""
    inputs = part.locator("table.path-table tbody td:first-child input")
    expect(inputs).to_have_count(len(keys))
    for index, key in enumerate(keys):
        expect(inputs.nth(index)).to_have_value(key)
