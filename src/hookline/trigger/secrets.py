"""Secrets in a trigger config: where they are, how they are masked, kept on update and resolved.

A trigger config holds three kinds of secret: `basicAuthentication.password`, each of
`signature.secrets` and each of `apiKey.keys`. Each is either the secret itself (a literal, stored
in the database and never shown again: answers and exports hold a placeholder instead, `[secret:i]`
for index i of a list and `[secret]` for the password) or `{{$env.NAME}}`, a reference to an
allowed environment variable of the server process, resolved only when a workflow is compiled for
requests, so that its value never reaches the database.
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
"""What answers show instead of the Basic-auth password; sent back, it keeps the stored one.

In a list it keeps the secret stored at its own index, as clients written before `[secret:i]` expect."""

INDEXED = re.compile(r"\[secret:(0|[1-9][0-9]*)\]")
"""`[secret:i]`: what answers show for the literal secret at index i of a list; it keeps that one."""

_LOOKALIKE = re.compile(r"\s*\[\s*secret\s*(?::[^\]]*)?\]\s*", re.IGNORECASE)
"""Text that reads as a placeholder: never saved as a secret, even when it keeps nothing."""

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


def placeholder(key: str | int) -> str:
    """What answers show for a literal secret at `key`: `[secret:i]` at index i of a list, else `[secret]`."""
    return f"[secret:{key}]" if isinstance(key, int) else PLACEHOLDER


def mask_secrets(config: JsonObject) -> JsonObject:
    """A copy of a trigger config with every literal secret replaced by its `placeholder`.

    `{{$env.NAME}}` secrets are shown as they are: they are not secret, and they tell the reader
    which secrets come from the environment. A config without literal secrets is returned as is.
    """
    if not any(_is_literal(value) for value in secret_values(config).values()):
        return config
    masked = copy.deepcopy(config)
    for _, holder, key in _places(masked):
        if _is_literal(holder[key]):
            holder[key] = placeholder(key)
    return masked


def keep_secrets(config: Any, stored: Any) -> tuple[Any, list[Problem]]:
    """A config to save, with its placeholders replaced by the secrets `stored` holds.

    `[secret:N]` in a list keeps the stored literal secret at index N of the same list, so a list
    sent back with one removed or reordered keeps the right ones; a plain `PLACEHOLDER` keeps the
    one at its own place; a `basicAuthentication` without a `password` keeps the stored password.
    A placeholder that keeps nothing, or a secret already kept in its list, is a problem at its
    place: so the text of a placeholder can never be saved as a secret.
    """
    if not isinstance(config, dict):
        return config, []
    kept = copy.deepcopy(config)
    before = secret_values(stored)
    basic = kept.get("basicAuthentication")
    if isinstance(basic, dict) and "password" not in basic and isinstance(before.get(_PASSWORD_PLACE), str):
        basic["password"] = before[_PASSWORD_PLACE]
    problems = []
    keepers: dict[str, str] = {}  # the path of each stored secret kept, to the path that keeps it
    for where, holder, key in _places(kept):
        value = holder[key]
        if not (isinstance(value, str) and _LOOKALIKE.fullmatch(value)):
            continue
        source = _source(where, key, value)
        problem = _keeping_problem(where, key, value, source, before, keepers)
        if problem is not None:
            problems.append(problem)
        elif source is not None:
            holder[key] = before[source]
            keepers[source] = where
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


def _source(where: str, key: str | int, value: str) -> str | None:
    """The path of the stored secret a placeholder keeps; None for text that only reads like one."""
    if value == PLACEHOLDER:
        return where
    found = INDEXED.fullmatch(value)
    if found is None or not isinstance(key, int):
        return None
    return f"{where.rpartition('[')[0]}[{found.group(1)}]"


def _keeping_problem(
    where: str,
    key: str | int,
    value: str,
    source: str | None,
    before: Mapping[str, Any],
    keepers: Mapping[str, str],
) -> Problem | None:
    """Why the placeholder `value` at `where` cannot keep the stored secret at `source`, or None."""
    if source is None:
        kind = (
            "[secret:N] keeps the stored secret at index N of this list"
            if isinstance(key, int)
            else f"{PLACEHOLDER} keeps the stored password"
        )
        message = (
            f"must be the secret itself or {{{{$env.NAME}}}}: {value} is not a placeholder here ({kind})"
        )
        return Problem(where, message)
    if not (_is_literal(before.get(source)) and not _LOOKALIKE.fullmatch(before[source])):
        at = "at this place" if source == where else f"at {source}"
        message = (
            f"must be the secret itself or {{{{$env.NAME}}}}: {value} keeps a stored secret, "
            f"and no literal secret is stored {at}"
        )
        return Problem(where, message)
    if source in keepers:
        message = f"{value} keeps the secret stored at {source}, which {keepers[source]} keeps already"
        return Problem(where, message + ": each stored secret can be kept once")
    return None


def _is_literal(value: Any) -> bool:
    """Whether a stored secret is the secret itself (a string that is not `{{$env.NAME}}`)."""
    return isinstance(value, str) and env_reference(value) is None


def _locked(where: str, name: str, detail: str) -> RejectedRequest:
    """A 401 whose detail (logged, never sent) names the setting and the variable, never its value.

    The answer itself says only that a secret is missing: a sender need not learn the config.
    """
    return RejectedRequest(
        401,
        "secret_unavailable",
        "This webhook cannot check requests until the server has the secret it is configured with.",
        detail=f"This webhook's secret at {where} comes from the environment variable {name}, {detail}; "
        "every request is refused until the server has it.",
    )
