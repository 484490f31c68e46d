"""Workflow JSON the tests build again and again."""

from __future__ import annotations

from typing import Any

from hookline.types import JsonObject

PAID_CONDITION: JsonObject = {
    "rejectOnFalse": False,
    "engine": "basic",
    "calculation": {
        "group": {
            "type": "and",
            "calculations": [{"calculator": "equal", "operands": ["{{$context.body.order.status}}", "paid"]}],
        }
    },
}
"""The config of the example's condition "Paid?" (docs/reference/workflow-json.md#example)."""

Step = str | tuple[str, JsonObject]
"""One node of a chain: its type (with an empty config), or its type and config."""


def chain(*steps: Step, sync: bool = False, key: str | None = None) -> JsonObject:
    """Enabled workflow JSON whose nodes `n0`, `n1`, … form one chain.

    With a `key` the workflow has that key and title (as a file for `hookline workflow import`
    needs); without one, importing it gives it a new key.
    """
    nodes = [
        {
            "key": f"n{i}",
            "type": kind,
            "upstream": f"n{i - 1}" if i else None,
            "branchIndex": None,
            "config": config,
        }
        for i, (kind, config) in enumerate(_typed(step) for step in steps)
    ]
    workflow: JsonObject = {
        "title": key or "chain",
        "type": "webhook",
        "sync": sync,
        "enabled": True,
        "config": {},
        "nodes": nodes,
    }
    return workflow if key is None else {"key": key, **workflow}


def keyed_workflow(key: str, *nodes: JsonObject, sync: bool, config: JsonObject | None = None) -> JsonObject:
    """Enabled workflow JSON titled by its key, with this trigger `config` and these nodes."""
    return {
        "key": key,
        "title": key,
        "type": "webhook",
        "sync": sync,
        "enabled": True,
        "config": config or {},
        "nodes": list(nodes),
    }


def _typed(step: Step) -> tuple[str, JsonObject]:
    """A step as its type and config."""
    return (step, {}) if isinstance(step, str) else step


def node(
    key: str, kind: str, upstream: str | None = None, branch: int | None = None, **config: Any
) -> JsonObject:
    """A node in workflow JSON."""
    return {"key": key, "type": kind, "upstream": upstream, "branchIndex": branch, "config": config}


def condition(
    key: str, left: str, right: Any, upstream: str | None = None, branch: int | None = None
) -> JsonObject:
    """A condition node `left == right` in workflow JSON."""
    calculation = {"calculator": "equal", "operands": [left, right]}
    return node(
        key, "condition", upstream, branch, rejectOnFalse=False, engine="basic", calculation=calculation
    )


def respond(
    key: str, upstream: str, branch: int | None = None, status: int = 200, body: Any = None
) -> JsonObject:
    """A Response node in workflow JSON."""
    return node(key, "response", upstream, branch, statusCode=status, body=body)


def sync_workflow(*nodes: JsonObject, options: JsonObject | None = None) -> JsonObject:
    """A synchronous webhook workflow made of these nodes."""
    return {
        "title": "test",
        "type": "webhook",
        "sync": True,
        "enabled": True,
        "config": {},
        "options": options or {},
        "nodes": list(nodes),
    }
