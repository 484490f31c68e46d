"""Waiting in a test for what another task or process writes to the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

POLL_SECONDS = 0.05
"""How often `wait_until` asks again: often enough not to slow a test, not so often as to load the store."""


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30.0) -> None:
    """Ask `check` every POLL_SECONDS until it holds; fail naming `what` after `within` seconds."""
    try:
        async with asyncio.timeout(within):
            # The condition lives in a database that workers or other processes write: no event to await.
            while not await check():  # noqa: ASYNC110
                await asyncio.sleep(POLL_SECONDS)
    except TimeoutError:
        pytest.fail(f"timed out after {within} s waiting until {what}")
