"""Write-only secrets, end to end: after real requests, no answer, export, log line or context holds one."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from hookline.cli import main
from hookline.store.execution_history import ExecutionFilter
from hookline.trigger.secrets import PLACEHOLDER
from tests.integration._admin import authorize
from tests.integration.conftest import Server

PASSWORD = "pw-Basic-7f3a9c"
SIGN_ONE = "sign-One-1b2c3d"
SIGN_TWO = "sign-Two-4e5f6a"
KEY_ONE = "key-One-8a7b6c"
KEY_TWO = "key-Two-5d4e3f"
ENV_VALUE = "env-Signing-9d8e7f"
LITERALS = (PASSWORD, SIGN_ONE, SIGN_TWO, KEY_ONE, KEY_TWO)

CONFIG = {
    "basicAuthentication": {"username": "shop", "password": PASSWORD},
    "signature": {"preset": "github", "secrets": [SIGN_ONE, SIGN_TWO, "{{$env.HOOK_SIGNING}}"]},
    "apiKey": {"header": "X-Api-Key", "keys": [KEY_ONE, KEY_TWO]},
}
BODY = b'{"order": {"id": 42}}'


def signed(secret: str, api_key: str, *, password: str = PASSWORD) -> dict[str, Any]:
    """The keyword arguments of a POST signed as GitHub signs, with Basic auth and an API key."""
    digest = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-Api-Key": api_key,
    }
    return {"content": BODY, "headers": headers, "auth": ("shop", password)}


def cli(database: dict[str, str], data_dir: Path) -> Callable[..., str]:
    """Run `hookline …` in-process on the server's database; returns its output, failing on an error."""
    env = {"HOOKLINE_DATA_DIR": str(data_dir), "HOOKLINE_DATABASE_URL": database.get("database_url", "")}

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


async def ok(response: httpx.Response, status: int = 200) -> str:
    """An answer's text, after checking its status."""
    assert response.status_code == status, response.text
    return response.text


async def run_guarded_workflow(server: Server) -> tuple[str, str, list[str]]:
    """Create, enable and call a workflow with every kind of secret; its id, key and every answer."""
    client = server.client
    answers = [await ok(await client.post("/api/workflows", json={"title": "guarded", "sync": True}), 201)]
    workflow_id = json.loads(answers[0])["id"]
    answers.append(await ok(await client.patch(f"/api/workflows/{workflow_id}", json={"config": CONFIG})))
    node = {"type": "end", "config": {}}
    answers.append(await ok(await client.post(f"/api/workflows/{workflow_id}/nodes", json=node), 201))
    answers.append(await ok(await client.post(f"/api/workflows/{workflow_id}/enable")))
    key = json.loads(answers[-1])["key"]
    for secret, api_key in ((SIGN_ONE, KEY_ONE), (SIGN_TWO, KEY_TWO), (ENV_VALUE, KEY_ONE)):
        answers.append(await ok(await server.post(key, **signed(secret, api_key))))
    for refused in (
        signed("forged", KEY_ONE),
        signed(SIGN_ONE, "wrong-key"),
        signed(SIGN_ONE, KEY_ONE, password="no"),
    ):
        answers.append(await ok(await server.post(key, **refused), 401))
    return workflow_id, key, answers


async def admin_answers(server: Server, workflow_id: str) -> list[str]:
    """Every admin answer that holds the workflow or its executions, a new version and an edit included."""
    client = server.client
    copy = json.loads(await ok(await client.post(f"/api/workflows/{workflow_id}/versions"), 201))
    answers = [json.dumps(copy)]
    answers.append(
        await ok(await client.patch(f"/api/workflows/{copy['id']}", json={"config": copy["config"]}))
    )
    answers.append(await ok(await client.post(f"/api/workflows/{copy['id']}/disable")))
    for path in ("", f"/{workflow_id}", f"/{workflow_id}/versions", f"/{workflow_id}/export"):
        answers.append(await ok(await client.get(f"/api/workflows{path}")))
    executions = json.loads(await ok(await client.get("/api/executions")))["items"]
    assert len(executions) == 3
    answers.append(json.dumps(executions))
    for execution in executions:
        answers.append(await ok(await client.get(f"/api/executions/{execution['id']}")))
    return answers


async def stored_contexts(server: Server) -> list[str]:
    """Every stored execution (its context, answer and output) and its jobs, as text."""
    found = []
    for execution in await server.runtime.store.list_executions(ExecutionFilter(limit=100)):
        jobs = await server.runtime.store.list_jobs(execution.id)
        parts = [execution.context, execution.response, execution.output, execution.error]
        found.append(json.dumps([*parts, [(job.result, job.meta) for job in jobs]], default=str))
    return found


async def test_no_answer_export_log_or_context_holds_a_secret(
    make_server: Callable[..., Any],
    database: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Secrets work for requests, yet none, literal or from the environment, is ever shown or stored."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOOK_SIGNING", ENV_VALUE)
    async with make_server(**database, env_allow_list=("HOOK_SIGNING",)) as server:
        authorize(server)
        workflow_id, key, texts = await run_guarded_workflow(server)
        texts += await admin_answers(server, workflow_id)
        texts += await stored_contexts(server)
        run = cli(database, tmp_path)
        for command in (
            ("export", key),
            ("show", key, "--json"),
            ("list", "--json"),
            ("versions", key, "--json"),
        ):
            texts.append(await asyncio.to_thread(run, "workflow", *command))
        with_secrets = await asyncio.to_thread(run, "workflow", "export", key, "--include-secrets")
    texts.append(caplog.text)
    assert "signature_invalid" in caplog.text  # the refusals were logged, and are searched
    assert PLACEHOLDER in texts[1]
    shown = json.loads(texts[1])["config"]["signature"]["secrets"]
    assert shown == ["[secret:0]", "[secret:1]", "{{$env.HOOK_SIGNING}}"]
    for secret in (*LITERALS, ENV_VALUE):
        holding = [text[:200] for text in texts if secret in text]
        assert holding == [], f"{secret} shown in {holding}"
    assert json.loads(with_secrets)["config"] == CONFIG
    assert ENV_VALUE not in with_secrets
