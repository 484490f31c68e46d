"""Edits of one workflow version's nodes, as on NocoBase's canvas: add, remove, move, update, copy.

Every edit takes the version's nodes and returns a new tuple; its input is left as it was. When the
input passes `check_graph`, so does every result: an edit that would break the graph raises
`InvalidWorkflow` instead, and an unknown node id raises `NotFound`. Node configs are not checked
here (their node type's `check` is the caller's business), only what the links depend on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import Enum

from hookline.errors import InvalidWorkflow, NotFound, Problem
from hookline.models import Node
from hookline.nodes.base import NodeType
from hookline.nodes.registry import node_type
from hookline.types import JsonObject

__all__ = [
    "UNSET",
    "Unset",
    "add_node",
    "copy_version",
    "descendants",
    "move_node",
    "remove_node",
    "update_node",
]


class Unset(Enum):
    """The type of `UNSET`, the "not given" marker of `update_node`."""

    UNSET = "unset"


UNSET = Unset.UNSET
"""An `update_node` field that is not given (None is a real title: the type's default one)."""

_Working = dict[int, Node]
"""The nodes being edited, by id; replacing an entry keeps the input's order."""


def add_node(
    nodes: Sequence[Node],
    new: Node,
    *,
    upstream_id: int | None,
    branch_index: int | None,
    sync: bool | None = None,
) -> tuple[Node, ...]:
    """The nodes with `new` placed below `upstream_id` (in branch `branch_index`, or right after it).

    With no upstream, `new` becomes the head. Whatever held that place (the old head, the upstream's
    downstream, the branch's first node) becomes `new`'s downstream. `new`'s own links are ignored.
    `sync`, when given, also refuses node types the workflow's mode does not allow.
    """
    working = _index(nodes)
    _check_new(working, new, sync)
    working[new.id] = replace(new, upstream_id=None, downstream_id=None, branch_index=None)
    _attach(working, new.id, upstream_id, branch_index)
    return tuple(working.values())


def remove_node(nodes: Sequence[Node], node_id: int) -> tuple[Node, ...]:
    """The nodes without `node_id` and everything in its branches; its downstream takes its place."""
    working = _index(nodes)
    node = _require(working, node_id)
    doomed = _descendants(working, node_id)
    _detach(working, node)
    for gone in (*doomed, node_id):
        del working[gone]
    return tuple(working.values())


def move_node(
    nodes: Sequence[Node], node_id: int, *, upstream_id: int | None, branch_index: int | None
) -> tuple[Node, ...]:
    """The nodes with `node_id` (and its branches) moved to a new place, as `add_node` places a node.

    Its downstream stays behind and takes its old place, as in `remove_node`.
    """
    working = _index(nodes)
    node = _require(working, node_id)
    if upstream_id is not None and (upstream_id == node_id or upstream_id in _descendants(working, node_id)):
        message = f"{node.key!r} cannot move below itself or into its own branches"
        raise InvalidWorkflow([Problem(_where(node.key), message)])
    _detach(working, node)
    _attach(working, node_id, upstream_id, branch_index)
    return tuple(working.values())


def update_node(
    nodes: Sequence[Node],
    node_id: int,
    *,
    title: str | Unset | None = UNSET,
    config: JsonObject | Unset = UNSET,
) -> tuple[Node, ...]:
    """The nodes with a new title and/or config for `node_id`; a config must keep its used branches."""
    working = _index(nodes)
    node = _require(working, node_id)
    if not isinstance(title, Unset):
        node = replace(node, title=_valid_title(node, title))
    if not isinstance(config, Unset):
        node = replace(node, config=_valid_config(working, node, config))
    working[node_id] = node
    return tuple(working.values())


def copy_version(nodes: Sequence[Node], new_workflow_id: int, new_id: Callable[[], int]) -> tuple[Node, ...]:
    """The nodes copied for a new version: same keys, types, titles and configs; new ids, same links."""
    ids = {node.id: new_id() for node in nodes}
    return tuple(
        replace(
            node,
            id=ids[node.id],
            workflow_id=new_workflow_id,
            config=copy.deepcopy(node.config),
            upstream_id=_remap(ids, node, node.upstream_id),
            downstream_id=_remap(ids, node, node.downstream_id),
        )
        for node in nodes
    )


def descendants(nodes: Sequence[Node], node_id: int) -> set[int]:
    """The ids of every node in the branches below `node_id`, at any depth; not its downstream chain."""
    working = _index(nodes)
    _require(working, node_id)
    return _descendants(working, node_id)


# -- links -----------------------------------------------------------------------------------


def _index(nodes: Sequence[Node]) -> _Working:
    return {node.id: node for node in nodes}


def _require(working: _Working, node_id: int) -> Node:
    node = working.get(node_id)
    if node is None:
        raise NotFound(f"There is no node {node_id} in this workflow.")
    return node


def _descendants(working: _Working, node_id: int) -> set[int]:
    """Everything reachable from the branch heads of `node_id` through upstream links."""
    children: dict[int, list[int]] = {}
    for node in working.values():
        if node.upstream_id is not None:
            children.setdefault(node.upstream_id, []).append(node.id)
    pending = [child for child in children.get(node_id, ()) if working[child].branch_index is not None]
    found: set[int] = set()
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(children.get(current, ()))
    return found


def _detach(working: _Working, node: Node) -> None:
    """Take `node` out of its chain, keeping its branches: its downstream takes its place."""
    follower = working.get(node.downstream_id) if node.downstream_id is not None else None
    if follower is not None:
        working[follower.id] = replace(follower, upstream_id=node.upstream_id, branch_index=node.branch_index)
    upstream = working.get(node.upstream_id) if node.upstream_id is not None else None
    if upstream is not None and node.branch_index is None:
        working[upstream.id] = replace(upstream, downstream_id=follower.id if follower else None)
    working[node.id] = replace(node, upstream_id=None, downstream_id=None, branch_index=None)


def _attach(working: _Working, node_id: int, upstream_id: int | None, branch_index: int | None) -> None:
    """Place the unlinked node `node_id`; what held the place becomes its downstream."""
    node = working[node_id]
    displaced = _take_place(working, node, upstream_id, branch_index)
    if displaced is not None:
        if _kind(node).ends_flow(node.config):
            message = (
                f"{_label(node.type)} nodes must be the last step of their branch, "
                f"but {displaced.key!r} would follow {node.key!r}"
            )
            raise InvalidWorkflow([Problem(_where(node.key), message)])
        working[displaced.id] = replace(displaced, upstream_id=node_id, branch_index=None)
    working[node_id] = replace(
        node,
        upstream_id=upstream_id,
        branch_index=branch_index,
        downstream_id=displaced.id if displaced is not None else None,
    )


def _take_place(
    working: _Working, node: Node, upstream_id: int | None, branch_index: int | None
) -> Node | None:
    """Check that `node` may go to the place, point the upstream at it, and return who was there."""
    if upstream_id is None:
        if branch_index is not None:
            raise InvalidWorkflow([Problem(_where(node.key), "the head node cannot have a branch index")])
        return next((n for n in working.values() if n.upstream_id is None and n.id != node.id), None)
    upstream = _require(working, upstream_id)
    kind = _kind(upstream)
    if branch_index is None:
        if kind.ends_flow(upstream.config):
            message = f"nothing may follow {upstream.key!r}: a {upstream.type} node ends the execution"
            raise InvalidWorkflow([Problem(_where(node.key), message)])
        working[upstream.id] = replace(upstream, downstream_id=node.id)
        return working.get(upstream.downstream_id) if upstream.downstream_id is not None else None
    if branch_index < 0 or not kind.has_branch(upstream.config, branch_index):
        message = f"a {upstream.type} node like {upstream.key!r} has no branch {branch_index}"
        raise InvalidWorkflow([Problem(_where(node.key), message)])
    return next(
        (n for n in working.values() if n.upstream_id == upstream.id and n.branch_index == branch_index),
        None,
    )


def _remap(ids: dict[int, int], node: Node, linked: int | None) -> int | None:
    if linked is None:
        return None
    if linked not in ids:
        message = f"it links to node {linked}, which is not in this workflow"
        raise InvalidWorkflow([Problem(_where(node.key), message)])
    return ids[linked]


# -- checks ----------------------------------------------------------------------------------


def _check_new(working: _Working, new: Node, sync: bool | None) -> None:
    """The problems that keep `new` out of the workflow, raised together."""
    problems = []
    if any(node.key == new.key for node in working.values()):
        problems.append(Problem(_where(new.key), f"the key {new.key!r} is used by another node"))
    if new.id in working:
        problems.append(Problem(_where(new.key), f"the id {new.id} is used by another node"))
    kind = node_type(new.type)
    if kind is None:
        problems.append(Problem(_where(new.key), f"unknown node type {new.type!r}"))
    elif sync is False and kind.sync_only:
        message = f"{_label(new.type)} nodes can only be used in synchronous workflows"
        problems.append(Problem(_where(new.key), message))
    elif sync is True and kind.async_only:
        message = f"{_label(new.type)} nodes can only be used in asynchronous workflows"
        problems.append(Problem(_where(new.key), message))
    if problems:
        raise InvalidWorkflow(problems)


def _kind(node: Node) -> NodeType:
    kind = node_type(node.type)
    if kind is None:
        raise InvalidWorkflow([Problem(_where(node.key), f"unknown node type {node.type!r}")])
    return kind


def _valid_title(node: Node, title: object) -> str | None:
    # Typed callers cannot pass anything else, but the admin API hands over JSON as it came.
    if title is not None and not isinstance(title, str):
        raise InvalidWorkflow([Problem(f"{_where(node.key)}.title", "must be a string or null")])
    return title


def _valid_config(working: _Working, node: Node, config: object) -> JsonObject:
    """A copy of `config`, once it is an object that keeps every branch holding nodes (and followers)."""
    if not isinstance(config, dict):
        raise InvalidWorkflow([Problem(f"{_where(node.key)}.config", "must be an object")])
    kind = node_type(node.type)
    follower = working.get(node.downstream_id) if node.downstream_id is not None else None
    if kind is not None and follower is not None and kind.ends_flow(config):
        message = (
            f"with this config the node ends the execution, but {follower.key!r} follows it: "
            "remove or move the nodes below it first"
        )
        raise InvalidWorkflow([Problem(f"{_where(node.key)}.config", message)])
    for child in working.values():
        if kind is None or child.upstream_id != node.id or child.branch_index is None:
            continue
        if not kind.has_branch(config, child.branch_index):
            message = (
                f"this config has no branch {child.branch_index}, but {child.key!r} is in it: "
                "remove or move that branch's nodes first"
            )
            raise InvalidWorkflow([Problem(f"{_where(node.key)}.config", message)])
    return copy.deepcopy(config)


def _where(key: str) -> str:
    return f"nodes[{key}]"


def _label(type_name: str) -> str:
    """A node type as people read it in a sentence: `response` → `Response`."""
    return type_name.replace("-", " ").capitalize()
