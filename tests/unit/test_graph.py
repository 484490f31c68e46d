"""Tests for the workflow graph: navigation between nodes and the checks of its links."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from hookline.engine import graph as graph_module
from hookline.engine.graph import Graph, NodeLink, check_graph, check_links
from hookline.errors import Problem
from hookline.models import Node
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.registry import node_type
from hookline.types import JsonObject
from tests._factories import make_node

TWO_CONDITIONS = {"conditions": [{"engine": "basic"}, {"engine": "basic"}]}


def nested_nodes() -> list[Node]:
    """check → (1: pick → (2: big, 0: small → done), 0: nope) → reply.

    `pick` is a multi-conditions node with two conditions, hanging in the true branch.
    """
    return [
        make_node(10, "condition", key="check", downstream=90),
        make_node(20, "multi-conditions", key="pick", upstream=10, branch=1, config=TWO_CONDITIONS),
        make_node(30, "condition", key="small", upstream=20, branch=0, downstream=31),
        make_node(31, "end", key="done", upstream=30),
        make_node(40, "response", key="big", upstream=20, branch=2),
        make_node(50, "end", key="nope", upstream=10, branch=0),
        make_node(90, "response", key="reply", upstream=10),
    ]


def link(key: str, kind: str | None, upstream: str | None = None, branch: int | None = None) -> NodeLink:
    """A NodeLink with an empty config."""
    return NodeLink(key, kind, upstream, branch)


def wheres(problems: list[Problem]) -> list[str]:
    """The `where` of each problem, in order."""
    return [problem.where for problem in problems]


def test_graph_finds_the_head_and_walks_the_main_chain() -> None:
    """The head has no upstream and the main chain follows downstream ids."""
    graph = Graph(nested_nodes())
    assert graph.head is not None
    assert graph.head.key == "check"
    after = graph.downstream(graph.head)
    assert after is not None
    assert after.key == "reply"
    assert graph.downstream(after) is None


def test_graph_lists_branch_heads_by_index() -> None:
    """Branch heads come sorted by branch index, whatever order the nodes were given in."""
    graph = Graph(reversed(nested_nodes()))
    pick = graph.by_key("pick")
    assert [(index, head.key) for index, head in graph.branch_heads(pick)] == [(0, "small"), (2, "big")]
    assert [(index, head.key) for index, head in graph.branch_heads(graph.by_key("check"))] == [
        (0, "nope"),
        (1, "pick"),
    ]
    assert graph.branch_heads(graph.by_key("big")) == []


def test_graph_finds_one_branch_head_or_none() -> None:
    """branch_head gives the first node of a branch, or None when that branch is empty."""
    graph = Graph(nested_nodes())
    pick = graph.by_key("pick")
    big = graph.branch_head(pick, 2)
    assert big is not None
    assert big.key == "big"
    assert graph.branch_head(pick, 1) is None


def test_graph_looks_nodes_up_by_id_and_key() -> None:
    """node() and by_key() find the same node; unknown ones raise KeyError."""
    graph = Graph(nested_nodes())
    assert graph.node(31) is graph.by_key("done")
    with pytest.raises(KeyError):
        graph.node(999)
    with pytest.raises(KeyError):
        graph.by_key("missing")


def test_graph_knows_upstreams_and_enclosing_branches() -> None:
    """A nested node knows its upstream and the branch that holds it; main-chain nodes have none."""
    graph = Graph(nested_nodes())
    done = graph.by_key("done")
    upstream = graph.upstream(done)
    assert upstream is not None
    assert upstream.key == "small"
    enclosing = graph.enclosing_branch(done)
    assert enclosing is not None
    assert (enclosing[0].key, enclosing[1]) == ("pick", 0)
    pick_branch = graph.enclosing_branch(graph.by_key("pick"))
    assert pick_branch is not None
    assert (pick_branch[0].key, pick_branch[1]) == ("check", 1)
    assert graph.enclosing_branch(graph.by_key("reply")) is None
    assert graph.upstream(graph.by_key("check")) is None


def test_empty_graph_has_no_head() -> None:
    """A workflow without nodes is valid and has nothing to run."""
    assert Graph([]).head is None
    assert check_graph([], sync=True) == []


def test_nested_graph_is_valid() -> None:
    """The nested example passes every check in a synchronous workflow."""
    assert check_graph(nested_nodes(), sync=True) == []


def test_response_node_in_async_workflow_is_rejected() -> None:
    """A Response node only makes sense when the caller waits for the workflow."""
    problems = check_graph(nested_nodes(), sync=False)
    assert Problem("nodes[big]", "Response nodes can only be used in synchronous workflows") in problems
    assert set(wheres(problems)) == {"nodes[big]", "nodes[reply]"}


def test_async_only_node_in_sync_workflow_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node type that waits cannot be used where the caller waits for the answer."""

    class DelayNode(NodeType):
        type: ClassVar[str] = "delay"
        async_only: ClassVar[bool] = True

        def check(self, config: JsonObject) -> list[Problem]:
            return []

        async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
            raise NotImplementedError

    def lookup(name: str) -> Any:
        return DelayNode() if name == "delay" else node_type(name)

    monkeypatch.setattr(graph_module, "node_type", lookup)
    links = [link("wait", "delay"), link("stop", "end", "wait")]
    assert check_links(links, sync=True) == [
        Problem("nodes[wait]", "Delay nodes can only be used in asynchronous workflows")
    ]
    assert check_links(links, sync=False) == []


@pytest.mark.parametrize(
    ("links", "where", "words"),
    [
        ([link("a", "end"), link("b", "end")], "nodes[b]", "second head"),
        (
            [link("a", "condition"), link("b", "end", "a"), link("c", "end", "a")],
            "nodes[c]",
            "second downstream",
        ),
        ([link("a", "condition"), link("b", "end", "ghost")], "nodes[b]", "'ghost' is not a node"),
        ([link("a", "condition"), link("b", "end", "a", 2)], "nodes[b]", "no branch 2"),
        ([link("a", "response"), link("b", "end", "a", 0)], "nodes[b]", "no branch 0"),
        ([link("a", "condition"), link("b", "end", "a", -1)], "nodes[b]", "no branch -1"),
        (
            [link("a", "condition"), link("b", "end", "a", 1), link("c", "end", "a", 1)],
            "nodes[c]",
            "second head of branch 1",
        ),
        ([link("a", "teleport")], "nodes[a]", "unknown node type 'teleport'"),
        ([link("a", "response"), link("b", "end", "a")], "nodes[b]", "nothing may follow 'a'"),
        ([link("a", "end"), link("b", "end", "a")], "nodes[b]", "ends the execution"),
        ([link("a", "end", None, 1)], "nodes[a]", "cannot have a branchIndex"),
    ],
)
def test_bad_links_name_the_node(links: list[NodeLink], where: str, words: str) -> None:
    """Each malformed graph gives a problem at the offending node, saying what is wrong."""
    problems = check_links(links, sync=True)
    assert any(p.where == where and words in p.message for p in problems), problems


def test_multi_conditions_branches_follow_its_conditions() -> None:
    """A multi-conditions node with two conditions has branches 0, 1 and 2, and no 3."""
    links = [
        NodeLink("pick", "multi-conditions", config=TWO_CONDITIONS),
        link("two", "end", "pick", 2),
        link("three", "end", "pick", 3),
    ]
    assert wheres(check_links(links, sync=True)) == ["nodes[three]"]


def test_cycle_is_reported_on_its_nodes() -> None:
    """Nodes that follow each other in a circle are named, with the circle written out."""
    links = [link("a", "condition"), link("b", "condition", "c"), link("c", "condition", "b")]
    problems = check_links(links, sync=True)
    assert sorted(wheres(problems)) == ["nodes[b]", "nodes[c]"]
    assert all("part of a cycle" in p.message for p in problems)


def test_node_below_a_cycle_is_unreachable() -> None:
    """A node hanging below a cycle is named as unreachable, the cycle's nodes as a cycle."""
    links = [
        link("a", "end"),
        link("b", "condition", "c"),
        link("c", "condition", "b"),
        link("d", "end", "b", 1),
    ]
    problems = {p.where: p.message for p in check_links(links, sync=True)}
    assert problems["nodes[d]"] == "cannot be reached from the head node"
    assert "cycle" in problems["nodes[b]"]


def test_nodes_without_a_head_are_rejected() -> None:
    """When every node has an upstream there is no head, which is a problem of the whole list."""
    problems = check_links([link("a", "condition", "a")], sync=True)
    assert Problem("nodes", "no node is the head: exactly one node must have no upstream") in problems
    assert "nodes[a]" in wheres(problems)


def test_unknown_type_of_an_upstream_is_reported_once() -> None:
    """A node below an unknown type gets no extra problem; the unknown type is the cause."""
    links = [link("a", "teleport"), link("b", "end", "a", 5)]
    assert wheres(check_links(links, sync=True)) == ["nodes[a]"]


def test_check_graph_names_duplicate_keys_and_unknown_upstream_ids() -> None:
    """Stored nodes with a repeated key or an upstream id outside the workflow are reported."""
    nodes = [
        make_node(1, "condition", key="a"),
        make_node(2, "end", key="a", upstream=1, branch=0),
        make_node(3, "end", key="b", upstream=77),
    ]
    problems = check_graph(nodes, sync=True)
    assert Problem("nodes[a]", "the key 'a' is used by another node") in problems
    assert Problem("nodes[b]", "its upstream '#77' is not a node here") in problems


def test_check_graph_requires_downstream_ids_to_match_the_links() -> None:
    """A downstream_id that disagrees with the upstream links is reported on the node holding it."""
    nodes = [make_node(1, "condition", key="a"), make_node(2, "end", key="b", upstream=1)]
    assert check_graph(nodes, sync=True) == [
        Problem("nodes[a]", "its downstream_id is empty, but 'b' follows it")
    ]
    nodes = [
        make_node(1, "condition", key="a", downstream=2),
        make_node(2, "end", key="b", upstream=1, branch=1),
    ]
    assert check_graph(nodes, sync=True) == [
        Problem("nodes[a]", "its downstream_id points at 'b', but no node follows it")
    ]
