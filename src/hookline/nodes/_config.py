"""Small checks shared by node configs; each returns the Problems for one field, named `config.<key>`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hookline.errors import Problem
from hookline.header_fields import name_problem, value_problem
from hookline.types import JsonObject


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


def check_name_value_list(config: JsonObject, key: str, *, headers: bool = True) -> list[Problem]:
    """A field that, when present, must be a list of `{name, value}` with string names and values.

    As `headers`, each name must be one a workflow may send and the fixed text of each value
    may not hold a control character (`trigger.fields`).
    """
    entries = config.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list):
        return [Problem(where(key), "must be a list of {name, value} objects")]
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        problems += _check_name_value(entry, f"{where(key)}[{index}]", headers)
    return problems


def _check_name_value(entry: Any, place: str, headers: bool) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(place, "must be an object with a name and a value")]
    problems = []
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem(f"{place}.name", "must be a non-empty string"))
    elif headers and (problem := name_problem(name)) is not None:
        problems.append(Problem(f"{place}.name", problem))
    value = entry.get("value")
    if not isinstance(value, str | None):
        problems.append(Problem(f"{place}.value", "must be a string (it may hold {{ }} placeholders)"))
    elif headers and value is not None and (problem := value_problem(value)) is not None:
        problems.append(Problem(f"{place}.value", problem))
    return problems
