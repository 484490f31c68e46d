"""Browser tests of the web UI: a live `hookline serve` on a temporary SQLite file, in headless Chromium.

Chromium is Debian's (`/usr/bin/chromium`, or HOOKLINE_TEST_CHROMIUM). Without it these tests are
skipped, unless HOOKLINE_REQUIRE_BROWSER is set (as `.ci/run` does): then they fail.
Screenshots of the main screens go to `artifacts/screenshots/` (git-ignored).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.integration._live_server import REPO_ROOT, LiveServer, hookline_env

TOKEN = "ui-test-token-0123456789"
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("HOOKLINE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the UI tests where there is no Chromium, or fail them when a browser is required."""
    if Path(CHROMIUM).exists() or os.environ.get("HOOKLINE_REQUIRE_BROWSER"):
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "tests/ui/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `hookline serve` for the UI tests, on a fresh SQLite file, with a known admin token.

    Request nodes may reach 127.0.0.1, where the tests' own receivers listen (tests/_receiver.py).
    """
    data = tmp_path_factory.mktemp("ui-data")
    env = hookline_env(data, HOOKLINE_ADMIN_TOKEN=TOKEN, HOOKLINE_REQUEST_ALLOW="127.0.0.1")
    server = LiveServer(env, data / "serve.log")
    _run_in_thread(server.start())
    try:
        yield server
    finally:
        server.stop()


# Module-scoped, not session-scoped: sync Playwright runs an event loop in this thread while it is
# started, which would break the async tests that pytest runs after the UI tests.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver, for one test module."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium, for one test module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"HOOKLINE_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, ui_server: LiveServer) -> Iterator[Page]:
    """A fresh browser tab at 1280 by 800 px on the UI, not signed in; JavaScript errors fail the test."""
    context = browser.new_context(base_url=ui_server.url, viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui_server.url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def signed_in(page: Page) -> Page:
    """The tab, signed in with the admin token, on the workflows list."""
    sign_in(page, TOKEN)
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    return page


@pytest.fixture
def api(ui_server: LiveServer) -> Iterator[httpx.Client]:
    """An admin API client on the same server, for setting up and checking what the UI did."""
    with httpx.Client(
        base_url=ui_server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as client:
        yield client


def _run_in_thread(work: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to its end on a loop of its own (pytest-asyncio may be running one here)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()


def sign_in(page: Page, token: str) -> None:
    """Open the UI and submit the sign-in form with `token`."""
    page.goto("/")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
