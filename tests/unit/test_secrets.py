"""Tests for the secrets of a trigger config: masking, keeping on update, env references, resolving."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hookline.engine.flows import CompiledFlow
from hookline.engine.graph import Graph
from hookline.errors import InvalidWorkflow, RejectedRequest
from hookline.exchange import flow_from_json, flow_to_json
from hookline.trigger.secrets import (
    PLACEHOLDER,
    env_problems,
    env_reference,
    keep_secrets,
    mask_secrets,
    resolve_secrets,
    secret_values,
)
from tests._workflows import chain

CONFIG: dict[str, Any] = {
    "basicAuthentication": {"username": "shop", "password": "pw-1"},
    "signature": {"preset": "github", "secrets": ["sign-1", "{{$env.HOOK_SIGNING}}"]},
    "apiKey": {"header": "X-Api-Key", "keys": ["key-1", "key-2"]},
    "response": {"statusCode": 200, "body": "pw-1 is not a secret place"},
}


def config() -> dict[str, Any]:
    """A fresh copy of a config with a secret of every kind, one of them from the environment."""
    return copy.deepcopy(CONFIG)


def wheres(problems: list[Any]) -> list[str]:
    """The `where` of each problem."""
    return [problem.where for problem in problems]


def test_env_reference_names_only_a_whole_reference() -> None:
    """`{{$env.NAME}}` (spaces allowed inside) is a reference; text around it or a non-string is not."""
    assert env_reference("{{$env.HOOK_SIGNING}}") == "HOOK_SIGNING"
    assert env_reference("{{ $env.X_1 }}") == "X_1"
    assert env_reference("a{{$env.X}}") is None
    assert env_reference("{{$env.1X}}") is None
    assert env_reference(7) is None


def test_secret_values_lists_every_secret_place() -> None:
    """The password, each signing secret and each API key are found by their paths, nothing else."""
    assert secret_values(config()) == {
        "config.basicAuthentication.password": "pw-1",
        "config.signature.secrets[0]": "sign-1",
        "config.signature.secrets[1]": "{{$env.HOOK_SIGNING}}",
        "config.apiKey.keys[0]": "key-1",
        "config.apiKey.keys[1]": "key-2",
    }
    assert secret_values({"basicAuthentication": False, "signature": None}) == {}
    assert secret_values("not a config") == {}


def test_mask_hides_literals_shows_references_and_leaves_the_input_alone() -> None:
    """Literal secrets become placeholders (indexed in lists), env references stay; the rest is kept."""
    original = config()
    masked = mask_secrets(original)
    assert masked["basicAuthentication"] == {"username": "shop", "password": PLACEHOLDER}
    assert masked["signature"]["secrets"] == ["[secret:0]", "{{$env.HOOK_SIGNING}}"]
    assert masked["apiKey"]["keys"] == ["[secret:0]", "[secret:1]"]
    assert masked["response"] == CONFIG["response"]
    assert original == CONFIG


def test_a_config_without_literal_secrets_is_not_copied() -> None:
    """Masking costs nothing for the many workflows without literal secrets."""
    plain = {"signature": {"preset": "github", "secrets": ["{{$env.X}}"]}, "request": {}}
    assert mask_secrets(plain) is plain


def test_placeholders_keep_the_stored_secrets_by_place() -> None:
    """Each placeholder takes the stored secret at its index; new secrets and references are saved as sent."""
    sent = mask_secrets(config())
    sent["signature"]["secrets"].append("sign-new")
    sent["apiKey"]["keys"] = ["[secret:0]"]  # the second key is removed
    kept, problems = keep_secrets(sent, config())
    assert problems == []
    assert kept["basicAuthentication"]["password"] == "pw-1"
    assert kept["signature"]["secrets"] == ["sign-1", "{{$env.HOOK_SIGNING}}", "sign-new"]
    assert kept["apiKey"]["keys"] == ["key-1"]
    assert sent["apiKey"]["keys"] == ["[secret:0]"]  # the input is not changed


def test_basic_auth_without_a_password_keeps_the_stored_one() -> None:
    """A username change that leaves the password out keeps the stored password."""
    kept, problems = keep_secrets({"basicAuthentication": {"username": "shop2"}}, config())
    assert problems == []
    assert kept["basicAuthentication"] == {"username": "shop2", "password": "pw-1"}


def test_a_placeholder_with_nothing_stored_is_a_problem_at_its_place() -> None:
    """A placeholder beyond the stored secrets, or on a new config, cannot be saved."""
    sent = {
        "basicAuthentication": {"username": "u", "password": PLACEHOLDER},
        "apiKey": {"keys": [PLACEHOLDER, PLACEHOLDER, PLACEHOLDER]},
    }
    _, problems = keep_secrets(sent, config())
    assert wheres(problems) == ["config.apiKey.keys[2]"]
    _, problems = keep_secrets(sent, {})
    assert wheres(problems) == [
        "config.basicAuthentication.password",
        "config.apiKey.keys[0]",
        "config.apiKey.keys[1]",
        "config.apiKey.keys[2]",
    ]
    assert "{{$env.NAME}}" in problems[0].message


def test_env_references_must_name_an_allowed_variable() -> None:
    """A reference to a variable HOOKLINE_ENV_ALLOW does not list, or text around one, is refused."""
    assert env_problems(config(), {"HOOK_SIGNING"}) == []
    problems = env_problems(config(), set())
    assert wheres(problems) == ["config.signature.secrets[1]"]
    assert "HOOK_SIGNING" in problems[0].message
    assert "HOOKLINE_ENV_ALLOW" in problems[0].message
    mixed = {"apiKey": {"keys": ["prefix-{{$env.HOOK_SIGNING}}"]}}
    assert wheres(env_problems(mixed, {"HOOK_SIGNING"})) == ["config.apiKey.keys[0]"]


def test_resolving_replaces_references_in_a_copy() -> None:
    """An allowed, set variable replaces its reference; the stored config keeps the reference."""
    original = config()
    resolved = resolve_secrets(original, {"HOOK_SIGNING": "from-env"})
    assert resolved.config["signature"]["secrets"] == ["sign-1", "from-env"]
    assert original["signature"]["secrets"][1] == "{{$env.HOOK_SIGNING}}"
    assert resolved.refusal() is None
    assert "from-env" not in repr(resolved)


def test_an_unset_or_empty_variable_locks_the_door_naming_it() -> None:
    """A missing or empty variable gives a 401 naming the variable and the place, never a value."""
    for env in ({}, {"HOOK_SIGNING": ""}):
        refusal = resolve_secrets(config(), env).refusal()
        assert isinstance(refusal, RejectedRequest)
        assert (refusal.status, refusal.code) == (401, "secret_unavailable")
        assert "HOOK_SIGNING" not in refusal.message  # what the sender reads names nothing
        assert refusal.detail is not None
        assert "HOOK_SIGNING" in refusal.detail
        assert "config.signature.secrets[1]" in refusal.detail


def test_compiled_flow_resolves_secrets_and_refuses_while_locked() -> None:
    """A compiled workflow checks requests with the resolved config, or refuses every one while locked."""
    workflow = chain("end", sync=True)
    workflow["config"] = {"apiKey": {"keys": ["{{$env.HOOK_KEY}}"]}}
    flow = flow_from_json(workflow)
    ready = CompiledFlow(flow, Graph(flow.nodes), env={"HOOK_KEY": "key-from-env"})
    assert ready.trigger_config()["apiKey"]["keys"] == ["key-from-env"]
    assert "key-from-env" not in repr(ready)
    for env in ({}, {"HOOK_KEY": " padded "}):  # unset, then not a valid API key
        locked = CompiledFlow(flow, Graph(flow.nodes), env=env)
        with pytest.raises(RejectedRequest) as refused:
            locked.trigger_config()
        assert (refused.value.status, refused.value.code) == (401, "secret_unavailable")
        assert "HOOK_KEY" in str(refused.value.detail)
        assert "padded" not in f"{refused.value.message} {refused.value.detail}"


def test_export_masks_literal_secrets_unless_asked() -> None:
    """Workflow JSON holds placeholders for literals and references as they are; asked, the literals."""
    workflow = chain("end", sync=True)
    workflow["config"] = config()
    flow = flow_from_json(workflow)
    assert flow_to_json(flow)["config"] == mask_secrets(config())
    assert flow_to_json(flow, include_secrets=True)["config"] == CONFIG


def test_a_file_with_placeholders_alone_cannot_be_read() -> None:
    """Without a stored version to keep secrets from, a placeholder in workflow JSON is refused."""
    workflow = chain("end", sync=True)
    workflow["config"] = mask_secrets(config())
    with pytest.raises(InvalidWorkflow) as refused:
        flow_from_json(workflow)
    assert "config.basicAuthentication.password" in wheres(refused.value.problems)


def test_a_variable_not_in_the_presets_format_locks_the_door_saying_why() -> None:
    """A Standard Webhooks secret from the environment must be `whsec_` base64 once resolved."""
    workflow = chain("end", sync=True)
    workflow["config"] = {"signature": {"preset": "standard-webhooks", "secrets": ["{{$env.HOOK_SIGNING}}"]}}
    flow = flow_from_json(workflow)
    locked = CompiledFlow(flow, Graph(flow.nodes), env={"HOOK_SIGNING": "whsec_!!not-base64"})
    assert locked.locked is not None
    assert "HOOK_SIGNING" in str(locked.locked.detail)
    assert "base64" in str(locked.locked.detail)
    assert "not-base64" not in str(locked.locked.detail)
    ready = CompiledFlow(
        flow, Graph(flow.nodes), env={"HOOK_SIGNING": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    )
    assert ready.locked is None
