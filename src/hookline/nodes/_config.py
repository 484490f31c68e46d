"""Small checks shared by node configs; each returns the Problems for one field, named `config.<key>`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hookline.errors import Problem
from hookline.types import JsonObject

HEADER_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*")
"""What a configured HTTP header name may look like (NocoBase's rule)."""


def where(key: str) -> str:
    """The `where` of a Problem about a top-level config field."""
    return f"config.{key}"


def is_int(value: Any) -> bool:
    """Whether a JSON value is an integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_bool(config: JsonObject, key: str) -> list[Problem]:
    """A field that, when present, must be true or false."""
    value = config.get(key)
    if value is None or isinstance(value, bool):
        return []
    return [Problem(where(key), "must be true or false")]


def check_int_range(config: JsonObject, key: str, low: int, high: int) -> list[Problem]:
    """A field that, when present, must be an integer from `low` to `high` inclusive."""
    value = config.get(key)
    if value is None or (is_int(value) and low <= value <= high):
        return []
    return [Problem(where(key), f"must be an integer between {low} and {high}")]


def check_choice(config: JsonObject, key: str, choices: Iterable[Any]) -> list[Problem]:
    """A field that, when present, must be one of a few values."""
    value = config.get(key)
    allowed = list(choices)
    if value is None or any(value == choice and type(value) is type(choice) for choice in allowed):
        return []
    listed = ", ".join(_quoted(choice) for choice in allowed)
    return [Problem(where(key), f"must be one of {listed}")]


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def check_name_value_list(
    config: JsonObject, key: str, name_pattern: re.Pattern[str] | None = HEADER_NAME
) -> list[Problem]:
    """A field that, when present, must be a list of `{name, value}` with string names and values."""
    entries = config.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list):
        return [Problem(where(key), "must be a list of {name, value} objects")]
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        problems += _check_name_value(entry, f"{where(key)}[{index}]", name_pattern)
    return problems


def _check_name_value(entry: Any, place: str, name_pattern: re.Pattern[str] | None) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(place, "must be an object with a name and a value")]
    problems = []
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem(f"{place}.name", "must be a non-empty string"))
    elif name_pattern is not None and not name_pattern.fullmatch(name):
        problems.append(
            Problem(f"{place}.name", "must start with a letter and hold only letters, digits, '_' and '-'")
        )
    if "value" in entry and not isinstance(entry["value"], str | None):
        problems.append(Problem(f"{place}.value", "must be a string (it may hold {{ }} placeholders)"))
    return problems
