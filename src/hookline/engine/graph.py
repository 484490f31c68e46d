"""The workflow graph: O(1) navigation between nodes, and the checks that keep it well formed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hookline.engine.assignments import check_assignments
from hookline.errors import Problem
from hookline.models import Node
from hookline.nodes.registry import node_type
from hookline.types import JsonObject


class Graph:
    """One workflow version's nodes with every link precomputed, so each step is a dict lookup.

    The graph trusts its nodes: check them with `check_graph` when they are saved.
    """

    def __init__(self, nodes: Iterable[Node]) -> None:
        self._nodes = tuple(nodes)
        self._by_id = {node.id: node for node in self._nodes}
        self._by_key = {node.key: node for node in self._nodes}
        heads = [node for node in self._nodes if node.upstream_id is None]
        self._head = heads[0] if heads else None
        self._downstream = {
            node.id: self._by_id[node.downstream_id]
            for node in self._nodes
            if node.downstream_id is not None and node.downstream_id in self._by_id
        }
        self._branches: dict[int, list[tuple[int, Node]]] = {}
        self._branch: dict[tuple[int, int], Node] = {}
        for node in self._nodes:
            if node.upstream_id is not None and node.branch_index is not None:
                self._branches.setdefault(node.upstream_id, []).append((node.branch_index, node))
                self._branch.setdefault((node.upstream_id, node.branch_index), node)
        for heads_of_node in self._branches.values():
            heads_of_node.sort(key=lambda pair: pair[0])
        self._enclosing = _enclosing_branches(self._nodes, self._by_id)

    @property
    def head(self) -> Node | None:
        """The first node of the workflow; None for an empty workflow."""
        return self._head

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every node, in the order the graph was built from."""
        return self._nodes

    def node(self, node_id: int) -> Node:
        """The node with this id; KeyError when the workflow has none."""
        return self._by_id[node_id]

    def by_key(self, key: str) -> Node:
        """The node with this key; KeyError when the workflow has none."""
        return self._by_key[key]

    def upstream(self, node: Node) -> Node | None:
        """The node this one hangs below (its predecessor or branching node); None for the head."""
        return self._by_id.get(node.upstream_id) if node.upstream_id is not None else None

    def downstream(self, node: Node) -> Node | None:
        """The next step after `node` and its branches; None at the end of a chain."""
        return self._downstream.get(node.id)

    def branch_heads(self, node: Node) -> list[tuple[int, Node]]:
        """The first node of each branch below `node`, as (branch index, node), by index."""
        return list(self._branches.get(node.id, ()))

    def branch_head(self, node: Node, index: int) -> Node | None:
        """The first node of branch `index` below `node`; None when that branch is empty."""
        return self._branch.get((node.id, index))

    def enclosing_branch(self, node: Node) -> tuple[Node, int] | None:
        """The branching node and branch index whose chain holds `node`; None on the main chain."""
        return self._enclosing.get(node.id)


def _enclosing_branches(nodes: Sequence[Node], by_id: dict[int, Node]) -> dict[int, tuple[Node, int]]:
    """For every node inside a branch, the branching node and the branch index that hold it."""
    found: dict[int, tuple[Node, int] | None] = {}
    for start in nodes:
        chain: list[int] = []
        current: Node | None = start
        answer: tuple[Node, int] | None = None
        # Walk up until a known answer, a branch head or the head; a cycle stops at `chain`.
        while current is not None and current.id not in found and current.id not in chain:
            chain.append(current.id)
            upstream = by_id.get(current.upstream_id) if current.upstream_id is not None else None
            if upstream is not None and current.branch_index is not None:
                answer = (upstream, current.branch_index)
                break
            current = upstream
        else:
            answer = found.get(current.id) if current is not None else None
        for visited in chain:
            found[visited] = answer
    return {node_id: answer for node_id, answer in found.items() if answer is not None}


# -- checks --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeLink:
    """What the graph checks need to know of one node: its key, type, config and upstream link.

    `type` is None when the caller already reported it as unusable (its checks are skipped).
    """

    key: str
    type: str | None
    upstream: str | None = None
    branch_index: int | None = None
    config: JsonObject = field(default_factory=dict)


def check_graph(nodes: Sequence[Node], *, sync: bool) -> list[Problem]:
    """The problems with the links and types of a workflow version's nodes; empty when valid."""
    keys = {node.id: node.key for node in nodes}
    links = [
        NodeLink(
            key=node.key,
            type=node.type,
            upstream=None if node.upstream_id is None else keys.get(node.upstream_id, f"#{node.upstream_id}"),
            branch_index=node.branch_index,
            config=node.config,
        )
        for node in nodes
    ]
    return [*_duplicate_keys(nodes), *check_links(links, sync=sync), *_downstream_ids(nodes)]


def check_links(links: Sequence[NodeLink], *, sync: bool) -> list[Problem]:
    """The problems with a graph described by upstream keys and branch indexes; empty when valid.

    Every problem names its node: `where` is `nodes[<key>]`.
    """
    by_key: dict[str, NodeLink] = {}
    for link in links:
        by_key.setdefault(link.key, link)
    unique = list(by_key.values())
    problems: list[Problem] = []
    problems += _types(unique, sync=sync)
    problems += _heads(unique)
    problems += _upstreams(unique, by_key)
    problems += _unreachable(unique, by_key, skip={p.where for p in problems})
    problems += check_assignments(unique)  # a variable node assigns to a variable declared upstream
    return problems


def _where(key: str) -> str:
    return f"nodes[{key}]"


def _label(type_name: str) -> str:
    """A node type as people read it in a sentence: `response` → `Response`."""
    return type_name.replace("-", " ").capitalize()


def _duplicate_keys(nodes: Sequence[Node]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for node in nodes:
        if node.key in seen:
            problems.append(Problem(_where(node.key), f"the key {node.key!r} is used by another node"))
        seen.add(node.key)
    return problems


def _types(links: Sequence[NodeLink], *, sync: bool) -> list[Problem]:
    """Unknown node types, and types that the workflow's mode does not allow."""
    problems = []
    for link in links:
        if link.type is None:
            continue
        kind = node_type(link.type)
        if kind is None:
            problems.append(Problem(_where(link.key), f"unknown node type {link.type!r}"))
        elif kind.sync_only and not sync:
            message = f"{_label(link.type)} nodes can only be used in synchronous workflows"
            problems.append(Problem(_where(link.key), message))
        elif kind.async_only and sync:
            message = f"{_label(link.type)} nodes can only be used in asynchronous workflows"
            problems.append(Problem(_where(link.key), message))
    return problems


def _heads(links: Sequence[NodeLink]) -> list[Problem]:
    """Exactly one node may have no upstream; an empty workflow has none."""
    heads = [link for link in links if link.upstream is None]
    problems = [
        Problem(_where(link.key), "the head node (no upstream) cannot have a branchIndex")
        for link in heads
        if link.branch_index is not None
    ]
    if links and not heads:
        problems.append(Problem("nodes", "no node is the head: exactly one node must have no upstream"))
    for extra in heads[1:]:
        message = f"a second head node: only one node may have no upstream, and {heads[0].key!r} has none"
        problems.append(Problem(_where(extra.key), message))
    return problems


def _upstreams(links: Sequence[NodeLink], by_key: dict[str, NodeLink]) -> list[Problem]:
    """Each upstream exists, has room for the node, and lets a node follow it."""
    problems = []
    taken: dict[tuple[str, int | None], str] = {}
    for link in links:
        if link.upstream is None:
            continue
        upstream = by_key.get(link.upstream)
        if upstream is None:
            problems.append(Problem(_where(link.key), f"its upstream {link.upstream!r} is not a node here"))
            continue
        slot = (upstream.key, link.branch_index)
        if slot in taken:
            problems.append(Problem(_where(link.key), _slot_taken(link, taken[slot])))
            continue
        taken[slot] = link.key
        problem = _fits_below(link, upstream)
        if problem is not None:
            problems.append(Problem(_where(link.key), problem))
    return problems


def _slot_taken(link: NodeLink, other: str) -> str:
    if link.branch_index is None:
        return f"a second downstream of {link.upstream!r}: {other!r} already follows it"
    return f"a second head of branch {link.branch_index} of {link.upstream!r}: {other!r} already starts it"


def _fits_below(link: NodeLink, upstream: NodeLink) -> str | None:
    """Why `link` cannot hang below `upstream`, or None when it can."""
    kind = node_type(upstream.type) if upstream.type is not None else None
    if kind is None:
        return None  # the unknown type is reported on the upstream node itself
    if link.branch_index is None:
        if kind.ends_flow(upstream.config):
            return f"nothing may follow {upstream.key!r}: a {upstream.type} node ends the execution"
        return None
    if link.branch_index < 0 or not kind.has_branch(upstream.config, link.branch_index):
        return f"a {upstream.type} node like {upstream.key!r} has no branch {link.branch_index}"
    return None


def _unreachable(links: Sequence[NodeLink], by_key: dict[str, NodeLink], skip: set[str]) -> list[Problem]:
    """Nodes on a cycle, and nodes that no head leads to (reported once, at the root cause)."""
    children: dict[str, list[str]] = {}
    for link in links:
        if link.upstream is not None:
            children.setdefault(link.upstream, []).append(link.key)
    reached: set[str] = set()
    pending = [link.key for link in links if link.upstream is None]
    while pending:
        key = pending.pop()
        if key not in reached:
            reached.add(key)
            pending.extend(children.get(key, ()))
    cycles = _cycle_members(links, by_key)
    problems = []
    for link in links:
        if link.key in reached or _where(link.key) in skip:
            continue
        if link.key in cycles:
            problems.append(Problem(_where(link.key), f"part of a cycle: {cycles[link.key]}"))
        else:
            problems.append(Problem(_where(link.key), "cannot be reached from the head node"))
    return problems


def _cycle_members(links: Sequence[NodeLink], by_key: dict[str, NodeLink]) -> dict[str, str]:
    """Each node on a cycle of upstream links, with the cycle written out (`a → b → a`)."""
    members: dict[str, str] = {}
    done: set[str] = set()
    for start in links:
        path: list[str] = []
        current: NodeLink | None = start
        while current is not None and current.key not in done and current.key not in path:
            path.append(current.key)
            current = by_key.get(current.upstream) if current.upstream is not None else None
        if current is not None and current.key in path:
            loop = path[path.index(current.key) :]
            text = " → ".join([*reversed(loop), loop[-1]])
            members.update(dict.fromkeys(loop, text))
        done.update(path)
    return members


def _downstream_ids(nodes: Sequence[Node]) -> list[Problem]:
    """`downstream_id` must point at exactly the node whose upstream it is (with no branch index)."""
    keys = {node.id: node.key for node in nodes}
    expected: dict[int, int] = {}
    for node in nodes:
        if node.upstream_id is not None and node.branch_index is None:
            expected.setdefault(node.upstream_id, node.id)
    problems = []
    for node in nodes:
        follower = expected.get(node.id)
        if node.downstream_id == follower:
            continue
        actual = repr(keys[follower]) if follower is not None else "no node"
        if node.downstream_id is None:
            message = f"its downstream_id is empty, but {actual} follows it"
        else:
            pointed = repr(keys.get(node.downstream_id, f"#{node.downstream_id}"))
            message = f"its downstream_id points at {pointed}, but {actual} follows it"
        problems.append(Problem(_where(node.key), message))
    return problems
