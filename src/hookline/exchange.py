"""Workflow JSON: import a workflow file into a Flow, and export a Flow back to that shape.

The contract: docs/reference/workflow-json.md.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from hookline.engine.graph import NodeLink, check_links
from hookline.errors import ConfigError, InvalidWorkflow, Problem
from hookline.ids import new_id, new_webhook_key
from hookline.models import Flow, Node, Workflow
from hookline.nodes.registry import node_type
from hookline.trigger.config import check_trigger_config
from hookline.trigger.options import check_options
from hookline.trigger.secrets import keep_secrets, mask_secrets
from hookline.types import JsonObject

WORKFLOW_FIELDS = ("key", "title", "description", "type", "sync", "enabled", "config", "options", "nodes")
"""The fields of a workflow file, in the order export writes them."""

NODE_FIELDS = ("key", "type", "title", "upstream", "branchIndex", "config")
"""The fields of one node in a workflow file, in the order export writes them."""

KEY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
"""What a workflow or node key may look like: 1 to 64 characters, never starting with '-'."""

_KEY_RULE = "must be 1 to 64 letters, digits, '_' or '-', not starting with '-'"


@dataclass(frozen=True, slots=True)
class _Header:
    """The workflow's own fields, read from a file."""

    key: str
    title: str
    description: str | None
    sync: bool
    enabled: bool
    config: JsonObject
    options: JsonObject


@dataclass(frozen=True, slots=True)
class _Draft:
    """One node read from a file, before it gets an id."""

    key: str
    type: str
    title: str | None
    upstream: str | None
    branch_index: int | None
    config: JsonObject


def flow_from_json(data: Any) -> Flow:
    """A new, not yet current workflow version from workflow JSON; InvalidWorkflow lists every problem."""
    if not isinstance(data, dict):
        raise InvalidWorkflow([Problem("", "a workflow must be a JSON object")])
    problems = [Problem(name, f"unknown field {name!r}") for name in data if name not in WORKFLOW_FIELDS]
    header, header_problems = _read_header(data)
    drafts, links, node_problems = _read_nodes(data.get("nodes", []))
    problems += header_problems + node_problems
    problems += check_links(links, sync=header.sync)
    if problems:
        raise InvalidWorkflow(problems)
    return _build(header, drafts)


def flow_to_json(flow: Flow, *, include_secrets: bool = False) -> JsonObject:
    """Workflow JSON for a flow: the shape of docs/reference/workflow-json.md#export, no empty optionals.

    Nodes come head first, then depth-first. Literal secrets are written as placeholders
    (`[secret:i]`, `[secret]`) unless `include_secrets`; `{{$env.NAME}}` ones as they are.
    """
    workflow = flow.workflow
    data: JsonObject = {"key": workflow.key, "title": workflow.title}
    if workflow.description is not None:
        data["description"] = workflow.description
    data["type"] = workflow.type
    data["sync"] = workflow.sync
    data["enabled"] = workflow.enabled
    config = workflow.config if include_secrets else mask_secrets(workflow.config)
    data["config"] = copy.deepcopy(config)
    data["options"] = copy.deepcopy(workflow.options)
    keys = {node.id: node.key for node in flow.nodes}
    data["nodes"] = [_node_json(node, keys) for node in export_order(flow.nodes)]
    return data


def load_flow_file(path: str | os.PathLike[str]) -> Flow:
    """A workflow version from a workflow JSON file (see `flow_from_json`)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read the workflow file {os.fspath(path)}: {exc.strerror or exc}.") from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidWorkflow([Problem("", f"{os.fspath(path)} is not valid JSON: {exc}")]) from exc
    return flow_from_json(data)


def export_order(nodes: tuple[Node, ...] | list[Node]) -> list[Node]:
    """Nodes head first, then depth-first: a node, its branches (in the order they were made), its downstream.

    Branches follow node ids, which follow the order of an imported file, so that exporting
    an import gives back the same file. Nodes no head leads to come last, never lost.
    """
    ordered = sorted(nodes, key=lambda node: node.id)
    follower: dict[int, Node] = {}
    branches: dict[int, list[Node]] = {}
    for node in ordered:
        if node.upstream_id is not None and node.branch_index is None:
            follower.setdefault(node.upstream_id, node)
        elif node.upstream_id is not None:
            branches.setdefault(node.upstream_id, []).append(node)
    pending = [node for node in ordered if node.upstream_id is None][:1]
    result: list[Node] = []
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        result.append(node)
        if node.id in follower:
            pending.append(follower[node.id])
        pending.extend(reversed(branches.get(node.id, [])))
    return result + [node for node in ordered if node.id not in seen]


def _node_json(node: Node, keys: dict[int, str]) -> JsonObject:
    data: JsonObject = {"key": node.key, "type": node.type}
    if node.title is not None:
        data["title"] = node.title
    data["upstream"] = keys.get(node.upstream_id) if node.upstream_id is not None else None
    data["branchIndex"] = node.branch_index
    data["config"] = copy.deepcopy(node.config)
    return data


# -- reading ---------------------------------------------------------------------------------


def _read_header(data: JsonObject) -> tuple[_Header, list[Problem]]:
    """The workflow's own fields with defaults filled in, and their problems."""
    problems: list[Problem] = []
    key = data.get("key")
    if key is None:
        key = new_webhook_key()
    elif not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        problems.append(Problem("key", _KEY_RULE))
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem("title", "is required: a non-empty string"))
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(Problem("description", "must be a string"))
    if data.get("type", "webhook") != "webhook":
        problems.append(Problem("type", 'must be "webhook"'))
    sync, enabled = data.get("sync", False), data.get("enabled", False)
    for name, value in (("sync", sync), ("enabled", enabled)):
        if not isinstance(value, bool):
            problems.append(Problem(name, "must be true or false"))
    config = data.get("config", {})
    options = data.get("options")
    options = {} if options is None else options
    # A placeholder left in a file has no stored secret to keep here (see `WorkflowAdmin.import_`).
    _, placeholders = keep_secrets(config, {})
    problems += placeholders + check_trigger_config(config, sync=sync is True) + check_options(options)
    header = _Header(
        str(key), str(title), description, sync is True, enabled is True, _object(config), _object(options)
    )
    return header, problems


def _object(value: Any) -> JsonObject:
    return copy.deepcopy(value) if isinstance(value, dict) else {}


def _read_nodes(nodes: Any) -> tuple[list[_Draft], list[NodeLink], list[Problem]]:
    """The nodes of a file, the links to check between them, and the problems of their fields."""
    if not isinstance(nodes, list):
        return [], [], [Problem("nodes", "must be a list of nodes")]
    drafts: list[_Draft] = []
    links: list[NodeLink] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, raw in enumerate(nodes):
        draft, link, more = _read_node(raw, index)
        problems += more
        if link is not None and link.key in seen:
            problems.append(Problem(f"nodes[{link.key}]", f"the key {link.key!r} is used by another node"))
            continue
        if link is not None:
            seen.add(link.key)
            links.append(link)
        if draft is not None:
            drafts.append(draft)
    return drafts, links, problems


def _read_node(raw: Any, index: int) -> tuple[_Draft | None, NodeLink | None, list[Problem]]:
    """One node's draft (when every field is good), its link (when it can be linked), and problems."""
    if not isinstance(raw, dict):
        return None, None, [Problem(f"nodes[{index}]", "must be an object")]
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        where = f"nodes[{index}]"
        unnamed = [Problem(f"{where}.key", f"is required and {_KEY_RULE}"), *_node_problems(raw, where)]
        return None, None, unnamed
    problems = _node_problems(raw, f"nodes[{key}]")
    kind, upstream, branch = raw.get("type"), raw.get("upstream"), raw.get("branchIndex")
    config = _object(raw.get("config"))
    link = None
    if _is_upstream(upstream) and _is_branch_index(branch):
        link = NodeLink(key, kind if _is_type(kind) else None, upstream, branch, config)
    if problems:
        return None, link, problems
    return _Draft(key, str(kind), raw.get("title"), upstream, branch, config), link, problems


def _node_problems(raw: JsonObject, where: str) -> list[Problem]:
    """The problems of a node's fields other than its key; its links are checked by the graph."""
    problems = [
        Problem(f"{where}.{name}", f"unknown field {name!r}") for name in raw if name not in NODE_FIELDS
    ]
    kind = raw.get("type")
    if not _is_type(kind):
        problems.append(Problem(f"{where}.type", 'is required: a node type such as "condition"'))
    if raw.get("title") is not None and not isinstance(raw["title"], str):
        problems.append(Problem(f"{where}.title", "must be a string"))
    if not _is_upstream(raw.get("upstream")):
        problems.append(Problem(f"{where}.upstream", "must be the key of another node, or null for the head"))
    if not _is_branch_index(raw.get("branchIndex")):
        problems.append(Problem(f"{where}.branchIndex", "must be a whole number, 0 or more, or null"))
    return problems + check_node_config(kind, raw.get("config", {}), where)


def _is_type(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_upstream(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(value))


def _is_branch_index(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def check_node_config(kind: Any, config: Any, where: str) -> list[Problem]:
    """The node type's own checks of its config, each placed under `nodes[<key>].config`."""
    if not isinstance(config, dict):
        return [Problem(f"{where}.config", "must be an object")]
    found = node_type(kind) if isinstance(kind, str) else None
    if found is None:
        return []  # an unknown type is reported once, by the graph checks
    return [Problem(_config_where(where, p.where), p.message) for p in found.check(config)]


def _config_where(node_where: str, where: str) -> str:
    """A node type's `where` (`config.x`, `x` or empty) placed under its node."""
    if where == "config" or where.startswith(("config.", "config[")):
        return f"{node_where}.{where}"
    if not where:
        return f"{node_where}.config"
    return f"{node_where}.config{'' if where.startswith('[') else '.'}{where}"


# -- building --------------------------------------------------------------------------------


def _build(header: _Header, drafts: list[_Draft]) -> Flow:
    """The workflow and its nodes with fresh snowflake ids, linked both ways."""
    now = datetime.now(UTC)
    workflow = Workflow(
        id=new_id(),
        key=header.key,
        title=header.title,
        sync=header.sync,
        enabled=header.enabled,
        description=header.description,
        config=header.config,
        options=header.options,
        created_at=now,
        updated_at=now,
    )
    ids = {draft.key: new_id() for draft in drafts}
    follower = {d.upstream: ids[d.key] for d in drafts if d.upstream is not None and d.branch_index is None}
    nodes = tuple(
        Node(
            id=ids[draft.key],
            workflow_id=workflow.id,
            key=draft.key,
            type=draft.type,
            config=draft.config,
            title=draft.title,
            upstream_id=ids[draft.upstream] if draft.upstream is not None else None,
            downstream_id=follower.get(draft.key),
            branch_index=draft.branch_index,
        )
        for draft in drafts
    )
    return Flow(workflow=workflow, nodes=nodes)
