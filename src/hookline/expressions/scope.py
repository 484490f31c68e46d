"""The variable scope of an execution: `$context`, `$jobsMapByNodeKey`, `$scopes`, `$system`, `$env`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from hookline.errors import ConfigError
from hookline.ids import new_id
from hookline.types import JsonObject, JsonValue


def build_scope(
    *,
    context: JsonObject,
    jobs_by_node_key: Mapping[str, JsonValue],
    scopes: Mapping[str, JsonValue] | None = None,
    env: Mapping[str, str] | None = None,
    instance_id: int = 0,
) -> dict[str, Any]:
    """The roots that `{{ }}` paths start from (docs/reference/templates.md#the-variables).

    The mappings are used as given, not copied, so the processor can keep adding job results to
    its own `jobs_by_node_key`. `$system.now` (ISO 8601 UTC, milliseconds, "Z") and
    `$system.genSnowflakeId` (a new id, as a string) are computed each time a path reaches them.
    `env` must be an allow-list (see `env_allow_list`), never the whole process environment.
    """
    if env is os.environ:
        raise ConfigError("workflows see only an allow-list of environment variables, not all of them")
    return {
        "$context": context,
        "$jobsMapByNodeKey": jobs_by_node_key,
        "$scopes": {} if scopes is None else scopes,
        "$system": _system_variables(instance_id),
        "$env": {} if env is None else env,
    }


def _system_variables(instance_id: int) -> dict[str, Any]:
    # Functions are lazy values: templates call them each time a path reaches them.
    return {"now": _utc_now_iso, "instanceId": instance_id, "genSnowflakeId": _snowflake_id}


def _utc_now_iso() -> str:
    """The current time as ISO 8601 in UTC with milliseconds, like JavaScript: 2026-01-31T09:30:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def _snowflake_id() -> str:
    """A new snowflake id as a string: 63-bit integers lose digits in JSON readers that use doubles."""
    return str(new_id())


def env_allow_list(names: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` whose names are allowed, skipping names it does not have."""
    return {name: environ[name] for name in names if name in environ}
