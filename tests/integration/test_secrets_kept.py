"""Saving write-only secrets through the admin API: placeholders keep them, env references are checked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hookline.store.execution_history import ExecutionFilter
from hookline.trigger.secrets import PLACEHOLDER
from tests._workflows import chain
from tests.integration._admin import authorize, error_of, import_, where
from tests.integration.conftest import Server

PASSWORD = "pw-kept-1"
CONFIG = {
    "basicAuthentication": {"username": "shop", "password": PASSWORD},
    "signature": {"preset": "gitlab", "secrets": ["token-one", "token-two"]},
    "apiKey": {"keys": ["key-one", "key-two"]},
}


def guarded(config: dict[str, Any]) -> dict[str, Any]:
    """Enabled workflow JSON of one synchronous `end` node behind `config`, under a new key."""
    workflow = chain("end", sync=True)
    workflow["config"] = config
    return workflow


async def status(server: Server, key: str, token: str, api_key: str, password: str | None = None) -> int:
    """The status a webhook request with these credentials (and the stored password unless told) gets."""
    headers = {"X-Gitlab-Token": token, "X-Api-Key": api_key}
    response = await server.post(key, json={}, headers=headers, auth=("shop", password or PASSWORD))
    return response.status_code


async def stored_config(server: Server, key: str) -> Any:
    """The trigger config of the key's current version, as stored (secrets in clear)."""
    flow = await server.runtime.store.get_current_flow(key)
    assert flow is not None
    return flow.workflow.config


@pytest.fixture
async def api(make_server: Callable[..., Any], database: dict[str, str]) -> AsyncIterator[Server]:
    """A server on each database under test, its client sending the admin token."""
    async with make_server(**database) as server:
        yield authorize(server)


async def test_placeholders_and_a_left_out_password_keep_the_stored_secrets(api: Server) -> None:
    """An edit that sends back what it read keeps every secret; plain `[secret]`s keep theirs by place."""
    flow = await import_(api, guarded(CONFIG))
    assert flow["config"]["signature"]["secrets"] == ["[secret:0]", "[secret:1]"]
    config = flow["config"]
    config["basicAuthentication"] = {"username": "shop"}
    config["signature"]["secrets"].append("token-three")
    config["apiKey"]["keys"] = [PLACEHOLDER]  # as clients wrote before indexed placeholders
    edited = await api.client.patch(f"/api/workflows/{flow['id']}", json={"config": config})
    assert edited.status_code == 200, edited.text
    assert edited.json()["config"]["basicAuthentication"] == {"username": "shop", "password": PLACEHOLDER}
    assert await stored_config(api, flow["key"]) == {
        "basicAuthentication": {"username": "shop", "password": PASSWORD},
        "signature": {"preset": "gitlab", "secrets": ["token-one", "token-two", "token-three"]},
        "apiKey": {"keys": ["key-one"]},
    }
    assert await status(api, flow["key"], "token-one", "key-one") == 200
    assert await status(api, flow["key"], "token-three", "key-one") == 200
    assert await status(api, flow["key"], "token-one", "key-two") == 401  # rotated out
    assert await status(api, flow["key"], "token-one", "key-one", password="wrong") == 401


async def test_rotation_drops_the_old_secret_and_keeps_the_new_one(api: Server) -> None:
    """GET, drop the old secret (index 0), PATCH what is left: the new secret passes, the old one is 401."""
    flow = await import_(api, guarded({"signature": {"preset": "gitlab", "secrets": ["token-old"]}}))
    path = f"/api/workflows/{flow['id']}"
    read = (await api.client.get(path)).json()["config"]
    read["signature"]["secrets"].append("token-new")  # step 1: add the new secret beside the old
    assert (await api.client.patch(path, json={"config": read})).status_code == 200
    read = (await api.client.get(path)).json()["config"]
    assert read["signature"]["secrets"] == ["[secret:0]", "[secret:1]"]
    del read["signature"]["secrets"][0]  # step 2, once the sender signs with the new one
    edited = await api.client.patch(path, json={"config": read})
    assert edited.status_code == 200, edited.text
    assert edited.json()["config"]["signature"]["secrets"] == ["[secret:0]"]
    assert (await stored_config(api, flow["key"]))["signature"]["secrets"] == ["token-new"]
    for token, expected in (("token-new", 200), ("token-old", 401)):
        response = await api.post(flow["key"], json={}, headers={"X-Gitlab-Token": token})
        assert response.status_code == expected, response.text


async def test_a_placeholder_kept_twice_or_naming_nothing_is_refused(api: Server) -> None:
    """The same `[secret:N]` twice, or an N with no literal stored, is a 422 at its path; nothing changes."""
    flow = await import_(api, guarded(CONFIG))
    path = f"/api/workflows/{flow['id']}"
    config = flow["config"]
    config["apiKey"]["keys"] = ["[secret:1]", "[secret:1]"]
    config["signature"]["secrets"] = ["[secret:0]", "[secret:7]"]
    error = error_of(await api.client.patch(path, json={"config": config}), 422)
    assert where(error) == ["config.signature.secrets[1]", "config.apiKey.keys[1]"]
    messages = [detail["message"] for detail in error["details"]]
    assert "config.signature.secrets[7]" in messages[0]
    assert "keeps already" in messages[1]
    assert await stored_config(api, flow["key"]) == CONFIG


async def test_a_placeholder_with_nothing_stored_is_refused_at_its_place(api: Server) -> None:
    """`[secret]` where no secret is stored is a 422 naming the place, and nothing changes."""
    created = await api.client.post(
        "/api/workflows",
        json={
            "title": "x",
            "sync": True,
            "config": {"basicAuthentication": {"username": "u", "password": PLACEHOLDER}},
        },
    )
    error = error_of(created, 422)
    assert where(error) == ["config.basicAuthentication.password"]
    assert "{{$env.NAME}}" in error["details"][0]["message"]
    flow = await import_(api, guarded(CONFIG))
    config = {**CONFIG, "apiKey": {"keys": [PLACEHOLDER, PLACEHOLDER, PLACEHOLDER]}}
    error = error_of(await api.client.patch(f"/api/workflows/{flow['id']}", json={"config": config}), 422)
    assert where(error) == ["config.apiKey.keys[2]"]
    assert await stored_config(api, flow["key"]) == CONFIG


async def test_an_export_imports_again_only_onto_its_own_key(api: Server) -> None:
    """Placeholders in an export keep the secrets they name in the key's current version; a new key: 422."""
    flow = await import_(api, guarded(CONFIG))
    exported = (await api.client.get(f"/api/workflows/{flow['id']}/export")).json()
    assert exported["config"]["apiKey"]["keys"] == ["[secret:0]", "[secret:1]"]
    again = await import_(api, exported)
    assert again["id"] != flow["id"]
    assert await stored_config(api, flow["key"]) == CONFIG
    assert await status(api, flow["key"], "token-two", "key-two") == 200
    elsewhere = {**exported, "key": "another-hook"}
    error = error_of(await api.client.post("/api/workflows/import", json=elsewhere), 422)
    assert set(where(error)) == {
        "config.basicAuthentication.password",
        "config.signature.secrets[0]",
        "config.signature.secrets[1]",
        "config.apiKey.keys[0]",
        "config.apiKey.keys[1]",
    }
    assert (await api.client.get("/api/workflows", params={"q": "another-hook"})).json()["items"] == []
    exported["config"]["apiKey"]["keys"] = ["[secret:1]"]  # the file, edited to drop the first key
    await import_(api, exported)
    assert (await stored_config(api, flow["key"]))["apiKey"] == {"keys": ["key-two"]}


async def test_an_env_secret_must_name_an_allowed_variable(make_server: Callable[..., Any]) -> None:
    """Create, edit and import refuse `{{$env.NAME}}` for a variable HOOKLINE_ENV_ALLOW does not list."""
    config = {"apiKey": {"keys": ["{{$env.HOOK_KEY}}"]}}
    async with make_server(env_allow_list=("OTHER",)) as server:
        api = authorize(server)
        created = await api.client.post("/api/workflows", json={"title": "x", "sync": True, "config": config})
        error = error_of(created, 422)
        assert where(error) == ["config.apiKey.keys[0]"]
        assert "HOOK_KEY" in error["details"][0]["message"]
        imported = await api.client.post("/api/workflows/import", json=guarded(config))
        assert where(error_of(imported, 422)) == ["config.apiKey.keys[0]"]
        flow = await import_(api, guarded({}))
        edited = await api.client.patch(f"/api/workflows/{flow['id']}", json={"config": config})
        assert where(error_of(edited, 422)) == ["config.apiKey.keys[0]"]


async def test_an_env_secret_is_resolved_and_shown_as_the_reference(
    make_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variable's value opens the door; answers show `{{$env.NAME}}`, which says where it comes from."""
    monkeypatch.setenv("HOOK_KEY", "key-from-the-environment")
    async with make_server(env_allow_list=("HOOK_KEY",)) as server:
        flow = await import_(authorize(server), guarded({"apiKey": {"keys": ["{{$env.HOOK_KEY}}"]}}))
        assert flow["config"]["apiKey"]["keys"] == ["{{$env.HOOK_KEY}}"]
        opened = await server.post(flow["key"], json={}, headers={"X-Api-Key": "key-from-the-environment"})
        assert opened.status_code == 200, opened.text
        refused = await server.post(flow["key"], json={}, headers={"X-Api-Key": "{{$env.HOOK_KEY}}"})
        assert refused.json()["error"]["code"] == "api_key_invalid"


@pytest.mark.parametrize(
    ("value", "why"), [(None, "not set"), ("  padded  ", "does not hold a valid secret")]
)
async def test_an_unavailable_env_secret_locks_the_door_and_is_logged(
    make_server: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    value: str | None,
    why: str,
) -> None:
    """An unset (or invalid) variable refuses every request with 401, logs a warning, runs nothing."""
    if value is None:
        monkeypatch.delenv("HOOK_KEY", raising=False)
    else:
        monkeypatch.setenv("HOOK_KEY", value)
    async with make_server(env_allow_list=("HOOK_KEY",)) as server:
        flow = await import_(authorize(server), guarded({"apiKey": {"keys": ["{{$env.HOOK_KEY}}"]}}))
        for supplied in ("anything", "  padded  "):
            refused = await server.post(flow["key"], json={}, headers={"X-Api-Key": supplied})
            error = error_of(refused, 401)
            assert error["code"] == "secret_unavailable"
            assert "HOOK_KEY" not in error["message"]  # the sender learns nothing of the config
        assert await server.runtime.store.list_executions(ExecutionFilter(limit=10)) == []
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    logged = [line for line in warnings if "secret_unavailable" in line]
    assert logged  # the operator learns which setting and variable, and why
    assert all("HOOK_KEY" in line and "config.apiKey.keys[0]" in line and why in line for line in logged)
    assert "padded" not in caplog.text
