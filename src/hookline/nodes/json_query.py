"""The json-query node: query a JSON value with JMESPath or JSONata, optionally mapping the result."""

from __future__ import annotations

import asyncio
from typing import Any

from hookline.errors import Problem
from hookline.expressions.templates import parse_path, resolve_path
from hookline.models import JobStatus
from hookline.nodes._config import check_choice, where
from hookline.nodes._query_engines import ENGINES, run_query, syntax_problem
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

DEFAULT_ENGINE = "jmespath"


def model_fields(model: Any) -> list[tuple[str, str]]:
    """The (path, name) of each model entry: the name is its alias, or its path with `.` as `_`."""
    return [
        (entry["path"], entry.get("alias") or entry["path"].replace(".", "_"))
        for entry in model or ()
        if isinstance(entry, dict) and isinstance(entry.get("path"), str)
    ]


def apply_model(result: Any, fields: list[tuple[str, str]]) -> Any:
    """The result mapped to the model's fields: an object, or a list of them for a list (as NocoBase)."""
    if not fields or not isinstance(result, dict | list):
        return result
    if isinstance(result, list):
        return [_mapped(item, fields) for item in result]
    return _mapped(result, fields)


def _mapped(item: Any, fields: list[tuple[str, str]]) -> JsonObject:
    # An item that is not an object has no fields: NocoBase maps it to an empty object too.
    if not isinstance(item, dict):
        return {}
    return {name: resolve_path(item, path) for path, name in fields}


class JsonQueryNode(NodeType):
    """Run a JMESPath or JSONata expression over a source value; the result is the query's value."""

    type = "json-query"
    outside_effects = False

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `engine`, `source`, `expression` (compiled here) and `model`."""
        problems = check_choice(config, "engine", ENGINES)
        if "source" not in config:
            problems.append(
                Problem(where("source"), "is required: the value to query, e.g. {{$context.body}}")
            )
        problems += _expression_problems(config)
        return problems + _model_problems(config.get("model"))

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Render the source, query it in a thread (the event loop keeps serving), map the result."""
        engine = config.get("engine") or DEFAULT_ENGINE
        source = ctx.render(config.get("source"))
        result = await asyncio.to_thread(run_query, engine, config["expression"], source)
        return Outcome(JobStatus.RESOLVED, apply_model(result, model_fields(config.get("model"))))


def _expression_problems(config: JsonObject) -> list[Problem]:
    expression = config.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        return [Problem(where("expression"), "is required: a query in the engine's language")]
    engine = config.get("engine") or DEFAULT_ENGINE
    if engine not in ENGINES:
        return []  # the engine's own problem says enough
    problem = syntax_problem(engine, expression)
    return [] if problem is None else [Problem(where("expression"), problem)]


def _model_problems(model: Any) -> list[Problem]:
    if model is None:
        return []
    if not isinstance(model, list):
        return [Problem(where("model"), "must be a list of {path, alias} objects")]
    problems: list[Problem] = []
    names: set[str] = set()
    for index, entry in enumerate(model):
        place = f"{where('model')}[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(place, "must be an object with a path and an optional alias"))
            continue
        problems += _entry_problems(entry, place)
        for _path, name in model_fields([entry]):
            if name in names:
                problems.append(Problem(place, f"a second field named {name!r}"))
            names.add(name)
    return problems


def _entry_problems(entry: JsonObject, place: str) -> list[Problem]:
    problems = []
    path = entry.get("path")
    if not isinstance(path, str) or not path:
        problems.append(Problem(f"{place}.path", "must be a non-empty path such as items.0.id"))
    else:
        try:
            parse_path(path)
        except ValueError:
            problems.append(Problem(f"{place}.path", f"{path!r} is not a path such as items.0.id"))
    alias = entry.get("alias")
    if alias is not None and not isinstance(alias, str):
        problems.append(Problem(f"{place}.alias", "must be a name (empty: the path, its dots as _)"))
    return problems
