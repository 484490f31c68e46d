"""Listen for a test request across processes: armed in one, the request arrives at another."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore, open_store
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration._live_server import REPO_ROOT, LiveServer, hookline_env, import_workflow

pytestmark = [pytest.mark.slow]

TOKEN = "t"


async def armed(store: SqlStore, key: str) -> bool:
    """Whether a capture of `key` is armed, as every process reads it with the workflow."""
    flow = await store.get_live_flow(key)
    return flow is not None and flow.capture_until is not None


async def until_captured(client: httpx.AsyncClient, url: str) -> tuple[int, int]:
    """POST `{"n": …}` until one is captured (202); how many ran before it, and the captured `n`."""
    n = 0
    async with asyncio.timeout(10):
        while True:
            n += 1
            answer = await client.post(url, json={"n": n})
            if answer.status_code == 202:
                assert answer.json() == {"captured": True}
                return n - 1, n
            assert answer.status_code == 200, answer.text
            # The capture is armed in another process: this one learns it from the database's news.
            await asyncio.sleep(0.05)


@pytest.mark.postgres
async def test_a_capture_armed_through_one_server_takes_a_request_sent_to_another(
    tmp_path: Path, postgres_url: str, postgres_store: SqlStore
) -> None:
    """Two `serve` processes on PostgreSQL: armed through A, B captures the request at once.

    B trusts its cached workflow for a minute, so only the notification of the arm can tell it.
    """
    env = hookline_env(
        tmp_path / "data",
        HOOKLINE_DATABASE_URL=postgres_url,
        HOOKLINE_ADMIN_TOKEN=TOKEN,
        HOOKLINE_CACHE_SECONDS="60",
    )
    key = import_workflow(env, chain(("crash-work", {"seconds": 0.001}), key="listened"), tmp_path)
    flow = await postgres_store.get_current_flow(key)
    assert flow is not None
    first, second = (LiveServer(env, tmp_path / f"serve{i}.log", ("serve", "--no-worker")) for i in range(2))
    async with first, second, httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(first.start(), second.start())
        hook = f"{second.url}/api/webhook:trigger/{key}"
        assert (await client.post(hook, json={"n": 0})).status_code == 200  # B caches the workflow
        listening = asyncio.create_task(
            client.post(
                f"{first.url}/api/workflows/{flow.workflow.id}/capture",
                json={"timeout": 30},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        )
        await wait_until(lambda: armed(postgres_store, key), "the capture is armed", within=10)
        ran, captured_n = await until_captured(client, hook)
        answer = await listening
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "captured"
        assert answer.json()["request"]["body"] == {"n": captured_n}
        assert (await client.post(hook, json={"n": -1})).status_code == 200, "the capture took one request"
        assert (await client.post(f"{first.url}/api/webhook:trigger/{key}", json={})).status_code == 200
    recorded = await postgres_store.list_executions(ExecutionFilter(limit=100))
    assert len(recorded) == 1 + ran + 2, "the captured request was neither run nor queued"
    assert {"n": captured_n} not in [execution.context["body"] for execution in recorded]


async def test_the_cli_captures_a_request_sent_to_a_server_on_the_same_sqlite_file(tmp_path: Path) -> None:
    """`hookline workflow capture` arms on the SQLite file; the running server captures the request."""
    env = hookline_env(tmp_path / "data")
    key = import_workflow(env, chain(("crash-work", {"seconds": 0.001}), key="listened-sqlite"), tmp_path)
    store = await open_store(f"sqlite:///{tmp_path / 'data' / 'hookline.db'}", migrate=False)
    async with LiveServer(env, tmp_path / "serve.log") as server, httpx.AsyncClient(timeout=30) as client:
        await server.start()
        try:
            for options in (["--json"], []):
                cli = await asyncio.create_subprocess_exec(
                    *(
                        sys.executable,
                        "-m",
                        "hookline",
                        "workflow",
                        "capture",
                        key,
                        "--timeout",
                        "30",
                        *options,
                    ),
                    env=env,
                    cwd=REPO_ROOT,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                await wait_until(lambda: armed(store, key), "the CLI armed its capture", within=30)
                answer = await client.post(
                    f"{server.url}/api/webhook:trigger/{key}?source=cli", json={"order": {"id": 7}}
                )
                assert answer.status_code == 202, answer.text
                out, err = await asyncio.wait_for(cli.communicate(), 30)
                assert cli.returncode == 0, err.decode()
                if options:
                    printed = json.loads(out)
                    assert printed["request"]["body"] == {"order": {"id": 7}}
                    assert printed["paths"]["query"] == ["source"]
                else:
                    lines = out.decode().splitlines()
                    assert lines[0] == "request:"
                    assert lines[-3:] == ["body paths:", "  order", "  order.id"]
                    assert "query paths:" in lines
        finally:
            await store.close()
    assert await _executions(tmp_path) == 0


def test_the_cli_exits_6_when_nothing_came_in_time(tmp_path: Path) -> None:
    """No request within `--timeout`: `{"status": "expired"}` and exit code 6; an unknown key exits 3."""
    env = hookline_env(tmp_path / "data")
    key = import_workflow(env, chain(key="quiet"), tmp_path)
    command = [sys.executable, "-m", "hookline", "workflow", "capture"]
    expired = _run([*command, key, "--timeout", "1", "--json"], env)
    assert expired.returncode == 6, expired.stderr
    assert json.loads(expired.stdout) == {"status": "expired"}
    assert "listening for 1 s" in expired.stderr
    assert _run([*command, "no-such-key", "--timeout", "1"], env).returncode == 3
    assert _run([*command, key, "--timeout", "301"], env).returncode == 2


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, its output captured as text."""
    return subprocess.run(
        args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )


async def _executions(tmp_path: Path) -> int:
    """How many executions the SQLite file of the test holds."""
    store = await open_store(f"sqlite:///{tmp_path / 'data' / 'hookline.db'}", migrate=False)
    try:
        return len(await store.list_executions(ExecutionFilter(limit=100)))
    finally:
        await store.close()
