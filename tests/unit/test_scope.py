"""Tests for the variable scope of an execution (docs/reference/templates.md#the-variables)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import pytest

from hookline.errors import ConfigError
from hookline.expressions.scope import build_scope, env_allow_list
from hookline.expressions.templates import render, resolve_path

_ISO_UTC_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_scope_has_the_five_roots() -> None:
    """The scope exposes context, job results, branch scopes, system values and the env allow-list."""
    scope = build_scope(
        context={"body": {"a": 1}},
        jobs_by_node_key={"n1": {"ok": True}},
        scopes={"loop": {"item": "x", "index": 0}},
        env={"REGION": "eu"},
        instance_id=5,
    )
    assert set(scope) == {"$context", "$jobsMapByNodeKey", "$scopes", "$system", "$env"}
    assert render("{{ $context.body.a }}", scope) == 1
    assert render("{{ $jobsMapByNodeKey.n1.ok }}", scope) is True
    assert render("{{ $scopes.loop.item }}", scope) == "x"
    assert render("{{ $env.REGION }}", scope) == "eu"
    assert render("{{ $system.instanceId }}", scope) == 5


def test_optional_roots_default_to_empty() -> None:
    """Without scopes or env those roots are empty objects, so their paths resolve to nothing."""
    scope = build_scope(context={}, jobs_by_node_key={})
    assert scope["$scopes"] == {}
    assert scope["$env"] == {}
    assert render("[{{ $env.HOME }}]", scope) == "[]"
    assert resolve_path(scope, "$system.instanceId") == 0


def test_job_results_added_later_are_visible() -> None:
    """The scope holds the processor's own job map, so results recorded later can be read."""
    jobs: dict[str, object] = {}
    scope = build_scope(context={}, jobs_by_node_key=jobs)
    jobs["calc"] = 12
    assert render("{{ $jobsMapByNodeKey.calc }}", scope) == 12


def test_system_now_is_a_fresh_utc_iso_time() -> None:
    """`$system.now` is the current UTC time in ISO 8601 with milliseconds and a Z."""
    scope = build_scope(context={}, jobs_by_node_key={})
    before = datetime.now(UTC).replace(microsecond=0)
    now = render("{{ $system.now }}", scope)
    assert _ISO_UTC_MS.fullmatch(now)
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    assert before <= moment <= datetime.now(UTC) + timedelta(milliseconds=1)


def test_gen_snowflake_id_gives_a_new_id_string_each_time() -> None:
    """Each read of `$system.genSnowflakeId` gives a new, larger id, written as a decimal string."""
    scope = build_scope(context={}, jobs_by_node_key={})
    first = render("{{ $system.genSnowflakeId }}", scope)
    second = render("{{ $system.genSnowflakeId }}", scope)
    assert isinstance(first, str)
    assert first.isdigit()
    assert int(second) > int(first)


def test_env_is_exactly_the_given_allow_list() -> None:
    """`$env` holds only what the operator passed, not the process environment."""
    allowed = {"REGION": "eu"}
    scope = build_scope(context={}, jobs_by_node_key={}, env=allowed)
    assert scope["$env"] is allowed
    assert render("{{ $env.PATH }}", scope) is None


def test_the_process_environment_is_refused() -> None:
    """Passing os.environ itself as `$env` is a configuration error."""
    with pytest.raises(ConfigError, match="allow-list"):
        build_scope(context={}, jobs_by_node_key={}, env=os.environ)


def test_env_allow_list_picks_only_allowed_names_that_exist() -> None:
    """Only allowed names that are set are copied; others are skipped silently."""
    environ = {"REGION": "eu", "SECRET": "s3cr3t", "EMPTY": ""}
    assert env_allow_list(["REGION", "EMPTY", "MISSING"], environ) == {"REGION": "eu", "EMPTY": ""}
    assert env_allow_list([], environ) == {}


def test_building_a_scope_does_not_copy_or_change_the_context() -> None:
    """The context is used as given and rendering against it leaves it unchanged."""
    context = {"body": {"items": [{"id": 1}, {"id": 2}]}}
    scope = build_scope(context=context, jobs_by_node_key={})
    assert render("{{ $context.body.items.id }}", scope) == [1, 2]
    assert scope["$context"] is context
    assert context == {"body": {"items": [{"id": 1}, {"id": 2}]}}
