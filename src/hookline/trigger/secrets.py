"""Secrets in a trigger config: where they are, how they are masked, kept on update and resolved.

A trigger config holds three kinds of secret: `basicAuthentication.password`, each of
`signature.secrets` and each of `apiKey.keys`. Each is either the secret itself (a literal, stored
in the database and never shown again: answers and exports hold `PLACEHOLDER` instead) or
`{{$env.NAME}}`, a reference to an allowed environment variable of the server process, resolved
only when a workflow is compiled for requests, so that its value never reaches the database.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookline.errors import Problem, RejectedRequest
from hookline.types import JsonObject

ENV_REFERENCE = re.compile(r"\{\{\s*\$env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
"""A whole secret written as `{{$env.NAME}}`: the value comes from the environment, never the database."""

PLACEHOLDER = "[secret]"
"""What answers and exports show instead of a literal secret; sent back, it keeps the stored secret."""

_UNSET_VARIABLE = "which is empty, not set, or not listed in HOOKLINE_ENV_ALLOW in this server process"
"""Why a `{{$env.NAME}}` secret cannot be resolved, as the locked door's message says."""

_SECRET_LISTS = (("signature", "secrets"), ("apiKey", "keys"))
"""The settings holding a list of secrets, and the name of that list."""
_PASSWORD_PLACE = "config.basicAuthentication.password"  # noqa: S105 (a path, not a password)
_PARTIAL_REFERENCE = re.compile(r"\{\{\s*\$env\.")

_Place = tuple[str, Any, Any]
"""A secret's place: its path (`config.apiKey.keys[0]`), the dict or list holding it, its key there."""


def env_reference(value: Any) -> str | None:
    """The NAME of a secret written as `{{$env.NAME}}`, None for a literal secret or a non-string."""
    if not isinstance(value, str):
        return None
    found = ENV_REFERENCE.fullmatch(value)
    return found.group(1) if found else None


def secret_values(config: Any) -> dict[str, Any]:
    """Every secret of a trigger config by its path, as stored (literals and `{{$env.NAME}}` alike)."""
    return {where: holder[key] for where, holder, key in _places(config)}


def mask_secrets(config: JsonObject) -> JsonObject:
    """A copy of a trigger config with every literal secret replaced by `PLACEHOLDER`.

    `{{$env.NAME}}` secrets are shown as they are: they are not secret, and they tell the reader
    which secrets come from the environment. A config without literal secrets is returned as is.
    """
    if not any(_is_literal(value) for value in secret_values(config).values()):
        return config
    masked = copy.deepcopy(config)
    for _, holder, key in _places(masked):
        if _is_literal(holder[key]):
            holder[key] = PLACEHOLDER
    return masked


def keep_secrets(config: Any, stored: Any) -> tuple[Any, list[Problem]]:
    """A config to save, with its placeholders replaced by the secrets `stored` holds at the same place.

    `PLACEHOLDER` keeps the stored secret at its place (`secrets[i]` and `keys[i]` by index), and a
    `basicAuthentication` without a `password` keeps the stored password. A placeholder with no
    secret stored at its place is a problem there: so the text `[secret]` can never be saved.
    """
    if not isinstance(config, dict):
        return config, []
    kept = copy.deepcopy(config)
    before = secret_values(stored)
    basic = kept.get("basicAuthentication")
    if isinstance(basic, dict) and "password" not in basic and isinstance(before.get(_PASSWORD_PLACE), str):
        basic["password"] = before[_PASSWORD_PLACE]
    problems = []
    for where, holder, key in _places(kept):
        if holder[key] != PLACEHOLDER:
            continue
        if isinstance(before.get(where), str) and before[where] != PLACEHOLDER:
            holder[key] = before[where]
        else:
            message = (
                f"must be the secret itself or {{{{$env.NAME}}}}: {PLACEHOLDER} keeps a stored secret, "
                "and none is stored at this place"
            )
            problems.append(Problem(where, message))
    return kept, problems


def env_problems(config: Any, allowed: Collection[str]) -> list[Problem]:
    """The problems of a config's `{{$env.NAME}}` secrets: a name not `allowed`, a reference inside text."""
    problems = []
    for where, value in secret_values(config).items():
        name = env_reference(value)
        if name is not None and name not in allowed:
            message = (
                f"names the environment variable {name}, which HOOKLINE_ENV_ALLOW does not list: "
                "add it there, or write the secret itself"
            )
            problems.append(Problem(where, message))
        elif name is None and isinstance(value, str) and _PARTIAL_REFERENCE.search(value):
            # Secrets are not templates: "abc{{$env.X}}" would be saved, and compared, as it reads.
            message = "must be the secret itself or exactly {{$env.NAME}}, with no text around it"
            problems.append(Problem(where, message))
    return problems


@dataclass(frozen=True, slots=True)
class ResolvedSecrets:
    """A trigger config with its `{{$env.NAME}}` secrets replaced by the variables' values."""

    config: JsonObject = field(repr=False)
    """The config the request checks use; it holds secrets: never show, log or store it."""
    names: Mapping[str, str]
    """The variable NAME of every `{{$env.NAME}}` secret, by its path."""
    missing: tuple[str, ...] = ()
    """The paths whose variable is not set (or set empty, or not allowed) in this process."""

    def refusal(self, problems: Collection[Problem] = ()) -> RejectedRequest | None:
        """The 401 that keeps the door locked while a variable is missing or invalid, else None.

        `problems` are those of the resolved config: one at an environment secret's path means
        the variable's value is not a valid secret there (a Standard Webhooks secret that is
        not `whsec_…` base64, say). The message names the variable, never its value.
        """
        if self.missing:
            where = self.missing[0]
            return _locked(where, self.names[where], _UNSET_VARIABLE)
        values = secret_values(self.config)
        for problem in problems:
            if problem.where in self.names:
                value = values.get(problem.where)
                # The check's own words help, unless they quote the value (a secret) back.
                shown = isinstance(value, str) and value not in problem.message
                why = f": {problem.message}" if shown else ""
                detail = f"which does not hold a valid secret there{why}"
                return _locked(problem.where, self.names[problem.where], detail)
        return None


def resolve_secrets(config: JsonObject, env: Mapping[str, str]) -> ResolvedSecrets:
    """The config with each `{{$env.NAME}}` secret replaced by `env[NAME]`.

    `env` is the allow-list of the process environment (see `env_allow_list`). A variable it does
    not hold, or holds empty, stays a reference and its path is listed as missing.
    """
    names = {where: name for where, value in secret_values(config).items() if (name := env_reference(value))}
    if not names:
        return ResolvedSecrets(config, names)
    resolved = copy.deepcopy(config)
    missing = []
    for where, holder, key in _places(resolved):
        if where not in names:
            continue
        if env.get(names[where]):
            holder[key] = env[names[where]]
        else:
            missing.append(where)
    return ResolvedSecrets(resolved, names, tuple(missing))


def _places(config: Any) -> Iterator[_Place]:
    """The place of every secret a trigger config holds, in a fixed order."""
    if not isinstance(config, Mapping):
        return
    basic = config.get("basicAuthentication")
    if isinstance(basic, Mapping) and "password" in basic:
        yield _PASSWORD_PLACE, basic, "password"
    for setting, name in _SECRET_LISTS:
        holder = config.get(setting)
        values = holder.get(name) if isinstance(holder, Mapping) else None
        if isinstance(values, list):
            for index in range(len(values)):
                yield f"config.{setting}.{name}[{index}]", values, index


def _is_literal(value: Any) -> bool:
    """Whether a stored secret is the secret itself (a string that is not `{{$env.NAME}}`)."""
    return isinstance(value, str) and env_reference(value) is None


def _locked(where: str, name: str, detail: str) -> RejectedRequest:
    """A 401 that names the setting and the variable (never its value), so an operator sees what to fix."""
    return RejectedRequest(
        401,
        "secret_unavailable",
        f"This webhook's secret at {where} comes from the environment variable {name}, {detail}; "
        "every request is refused until the server has it.",
    )
