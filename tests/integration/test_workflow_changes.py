"""A workflow change made through one process reaches every other process at once (PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration._admin import PAID, authorize, import_
from tests.integration.conftest import Server, example

# postgres_store: the servers do not migrate a PostgreSQL database themselves; the fixture does.
pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgres_store")]

WITHIN = 5.0
"""Far less than the cache lifetime the servers are given (60 s): only a notification explains it."""


async def answers(server: Server, key: str, status: int) -> None:
    """Post to `key` until it answers `status` (the other process learns of the change in the background)."""
    async with asyncio.timeout(WITHIN):
        # The notification reaches B on its own connection, in the background: asking again shows it.
        while (await server.post(key, json=PAID, auth=("shop", "s3cret"))).status_code != status:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_change_through_one_process_takes_effect_in_the_other_at_once(
    make_server: Callable[..., Any], tmp_path: Path, postgres_url: str
) -> None:
    """Disable, re-enable and edit through process A: process B, caching for 60 s, follows within moments."""
    settings = {"database_url": postgres_url, "cache_seconds": 60.0}
    async with make_server(**settings) as first, make_server(**settings, data_dir=tmp_path / "b") as second:
        authorize(first)
        flow = await import_(first, {**example("order-paid.json"), "key": "changes-everywhere"})
        await second.runtime.listener.wait_listening()
        await answers(second, flow["key"], 200)  # B has it cached now

        assert (await first.client.post(f"/api/workflows/{flow['id']}/disable")).status_code == 200
        await answers(second, flow["key"], 404)

        assert (await first.client.post(f"/api/workflows/{flow['id']}/enable")).status_code == 200
        await answers(second, flow["key"], 200)

        copy = (await first.client.post(f"/api/workflows/{flow['id']}/versions")).json()
        ok = next(node for node in copy["nodes"] if node["key"] == "ok")
        changed = {**ok["config"], "statusCode": 201}
        url = f"/api/workflows/{copy['id']}/nodes/{ok['id']}"
        assert (await first.client.patch(url, json={"config": changed})).status_code == 200
        assert (await first.client.post(f"/api/workflows/{copy['id']}/enable")).status_code == 200
        await answers(second, flow["key"], 201)


async def test_without_the_listener_the_other_process_keeps_its_cached_version(
    make_server: Callable[..., Any], tmp_path: Path, postgres_url: str
) -> None:
    """The control: with B's listener stopped, B still runs the disabled workflow from its cache."""
    settings = {"database_url": postgres_url, "cache_seconds": 60.0}
    async with make_server(**settings) as first, make_server(**settings, data_dir=tmp_path / "b") as second:
        authorize(first)
        flow = await import_(first, {**example("order-paid.json"), "key": "changes-unheard"})
        await second.runtime.listener.stop()
        assert (await second.post(flow["key"], json=PAID, auth=("shop", "s3cret"))).status_code == 200
        assert (await first.client.post(f"/api/workflows/{flow['id']}/disable")).status_code == 200
        assert (await second.post(flow["key"], json=PAID, auth=("shop", "s3cret"))).status_code == 200
