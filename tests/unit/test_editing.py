"""Tests for the canvas edits of a workflow version's nodes: add, remove, move, update, copy."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hookline.engine.editing import (
    add_node,
    copy_version,
    descendants,
    move_node,
    remove_node,
    update_node,
)
from hookline.engine.graph import check_graph
from hookline.errors import InvalidWorkflow, NotFound, Problem
from hookline.models import Node
from hookline.nodes import registry
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject
from tests._factories import make_node


class StepNode(NodeType):
    """A plain step for these tests: no branches, may be followed."""

    type: ClassVar[str] = "step"

    def check(self, config: JsonObject) -> list[Problem]:
        """Any config will do."""
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Never run here."""
        raise NotImplementedError


class PauseNode(StepNode):
    """A step that only asynchronous workflows allow."""

    type: ClassVar[str] = "pause"
    async_only: ClassVar[bool] = True


@pytest.fixture(autouse=True, scope="module")
def _test_node_types() -> Iterator[None]:
    """Register the test-only node types for this module."""
    registry.register(StepNode())
    registry.register(PauseNode())
    yield
    registry.unregister("step")
    registry.unregister("pause")


def sample() -> tuple[Node, ...]:
    """1 → 2 (condition: true 20 → 21 end, false 30) → 3."""
    return (
        make_node(1, "step", downstream=2),
        make_node(2, "condition", upstream=1, downstream=3),
        make_node(20, "step", upstream=2, branch=1, downstream=21),
        make_node(21, "end", upstream=20),
        make_node(30, "step", upstream=2, branch=0),
        make_node(3, "step", upstream=2),
    )


def links(nodes: tuple[Node, ...]) -> dict[int, tuple[int | None, int | None, int | None]]:
    """Each node's (upstream, branch index, downstream), by id."""
    return {n.id: (n.upstream_id, n.branch_index, n.downstream_id) for n in nodes}


def fresh(node_id: int, kind: str = "step", config: JsonObject | None = None) -> Node:
    """A node to add, with links that must be ignored."""
    return make_node(node_id, kind, upstream=777, branch=5, downstream=888, config=config)


def problems_of(error: pytest.ExceptionInfo[InvalidWorkflow]) -> list[str]:
    """The messages of an InvalidWorkflow."""
    return [p.message for p in error.value.problems]


# -- add -------------------------------------------------------------------------------------


def test_add_after_a_node_takes_its_place_in_the_chain() -> None:
    """A node added after 1 sits between 1 and its old downstream 2."""
    result = add_node(sample(), fresh(5), upstream_id=1, branch_index=None)
    assert links(result)[1] == (None, None, 5)
    assert links(result)[5] == (1, None, 2)
    assert links(result)[2] == (5, None, 3)
    assert check_graph(result, sync=False) == []


def test_add_without_upstream_makes_the_new_head() -> None:
    """The old head becomes the downstream of a node added with no upstream."""
    result = add_node(sample(), fresh(5), upstream_id=None, branch_index=None)
    assert links(result)[5] == (None, None, 1)
    assert links(result)[1] == (5, None, 2)
    assert check_graph(result, sync=False) == []


def test_add_into_a_branch_pushes_its_old_head_down() -> None:
    """A node added as head of branch 1 gets the old head as downstream, which loses its branch index."""
    result = add_node(sample(), fresh(5), upstream_id=2, branch_index=1)
    assert links(result)[5] == (2, 1, 20)
    assert links(result)[20] == (5, None, 21)
    assert links(result)[2] == (1, None, 3)
    assert check_graph(result, sync=False) == []


def test_add_into_an_empty_branch_and_an_empty_workflow() -> None:
    """The first node of a workflow is its head; the first node of a branch has no downstream."""
    (head,) = add_node((), fresh(1, "condition"), upstream_id=None, branch_index=None)
    assert (head.upstream_id, head.branch_index, head.downstream_id) == (None, None, None)
    result = add_node((head,), fresh(2, "end"), upstream_id=1, branch_index=0)
    assert links(result)[2] == (1, 0, None)
    assert check_graph(result, sync=False) == []


def test_add_returns_new_nodes_and_leaves_the_input_alone() -> None:
    """The input tuple and its nodes are the same after an edit; the new node comes last."""
    nodes = sample()
    before = copy.deepcopy(nodes)
    result = add_node(nodes, fresh(5, config={"x": [1]}), upstream_id=2, branch_index=0)
    assert nodes == before
    assert result[-1].id == 5
    assert [n.id for n in result[:-1]] == [n.id for n in nodes]


def test_add_into_a_branch_the_type_lacks_is_refused() -> None:
    """A condition has branches 0 and 1 only."""
    with pytest.raises(InvalidWorkflow) as error:
        add_node(sample(), fresh(5), upstream_id=2, branch_index=2)
    assert problems_of(error) == ["a condition node like 'n2' has no branch 2"]


def test_add_into_a_multi_conditions_branch_follows_its_config() -> None:
    """Multi-conditions has the default branch 0 and one branch per condition."""
    nodes = (make_node(1, "multi-conditions", config={"conditions": [{}, {}]}),)
    assert links(add_node(nodes, fresh(5), upstream_id=1, branch_index=2))[5] == (1, 2, None)
    with pytest.raises(InvalidWorkflow):
        add_node(nodes, fresh(5), upstream_id=1, branch_index=3)


def test_add_after_a_terminal_node_is_refused() -> None:
    """Nothing may follow an End node."""
    with pytest.raises(InvalidWorkflow) as error:
        add_node(sample(), fresh(5), upstream_id=21, branch_index=None)
    assert problems_of(error) == ["nothing may follow 'n21': a end node ends the execution"]


def test_add_a_terminal_node_before_others_is_refused() -> None:
    """A Response node must stay the last step of its branch, so it cannot be inserted mid-chain."""
    with pytest.raises(InvalidWorkflow) as error:
        add_node(sample(), fresh(5, "response"), upstream_id=1, branch_index=None, sync=True)
    assert problems_of(error) == [
        "Response nodes must be the last step of their branch, but 'n2' would follow 'n5'"
    ]


def test_add_a_terminal_node_at_the_end_of_a_chain() -> None:
    """A Response node may end a chain or an empty branch."""
    result = add_node(sample(), fresh(5, "response"), upstream_id=30, branch_index=None, sync=True)
    assert links(result)[5] == (30, None, None)
    assert check_graph(result, sync=True) == []


def test_add_checks_the_workflow_mode_when_given() -> None:
    """Response nodes need a synchronous workflow and waiting nodes an asynchronous one."""
    with pytest.raises(InvalidWorkflow) as error:
        add_node(sample(), fresh(5, "response"), upstream_id=3, branch_index=None, sync=False)
    assert problems_of(error) == ["Response nodes can only be used in synchronous workflows"]
    with pytest.raises(InvalidWorkflow):
        add_node(sample(), fresh(5, "pause"), upstream_id=3, branch_index=None, sync=True)
    assert add_node(sample(), fresh(5, "pause"), upstream_id=3, branch_index=None, sync=False)


def test_add_refuses_a_used_key_or_id_and_an_unknown_type() -> None:
    """Each problem of the new node is listed."""
    clash = Node(id=2, workflow_id=1, key="n1", type="nope")
    with pytest.raises(InvalidWorkflow) as error:
        add_node(sample(), clash, upstream_id=3, branch_index=None)
    assert problems_of(error) == [
        "the key 'n1' is used by another node",
        "the id 2 is used by another node",
        "unknown node type 'nope'",
    ]


def test_add_below_an_unknown_node_is_not_found() -> None:
    """An upstream id that is not in the workflow gives NotFound."""
    with pytest.raises(NotFound):
        add_node(sample(), fresh(5), upstream_id=404, branch_index=None)


def test_add_a_head_with_a_branch_index_is_refused() -> None:
    """The head cannot hang in a branch."""
    with pytest.raises(InvalidWorkflow):
        add_node(sample(), fresh(5), upstream_id=None, branch_index=0)


# -- remove ----------------------------------------------------------------------------------


def test_remove_takes_the_branches_and_closes_the_chain() -> None:
    """Removing the condition removes both branches; 3 then follows 1."""
    result = remove_node(sample(), 2)
    assert links(result) == {1: (None, None, 3), 3: (1, None, None)}
    assert check_graph(result, sync=False) == []


def test_remove_a_branch_head_promotes_its_downstream() -> None:
    """When the head of branch 1 goes, its downstream starts the branch."""
    result = remove_node(sample(), 20)
    assert links(result)[21] == (2, 1, None)
    assert 20 not in links(result)
    assert check_graph(result, sync=False) == []


def test_remove_the_head_makes_its_downstream_the_head() -> None:
    """The workflow head's downstream becomes the head."""
    result = remove_node(sample(), 1)
    assert links(result)[2] == (None, None, 3)
    assert check_graph(result, sync=False) == []


def test_remove_an_unknown_node_is_not_found() -> None:
    """An id that is not in the workflow gives NotFound."""
    with pytest.raises(NotFound):
        remove_node(sample(), 404)


def test_descendants_are_the_nodes_in_the_branches_only() -> None:
    """The branches' nodes at every depth count; the downstream chain does not."""
    assert descendants(sample(), 2) == {20, 21, 30}
    assert descendants(sample(), 1) == set()
    with pytest.raises(NotFound):
        descendants(sample(), 404)


# -- move ------------------------------------------------------------------------------------


def test_move_carries_the_branches_and_leaves_the_downstream() -> None:
    """Moving the condition after 3 keeps its branches on it; 3 now follows 1."""
    result = move_node(sample(), 2, upstream_id=3, branch_index=None)
    assert links(result)[1] == (None, None, 3)
    assert links(result)[3] == (1, None, 2)
    assert links(result)[2] == (3, None, None)
    assert links(result)[20] == (2, 1, 21)
    assert check_graph(result, sync=False) == []


def test_move_into_a_branch_and_to_the_head() -> None:
    """A node moved into a branch heads it; a node moved to the top heads the workflow."""
    into_branch = move_node(sample(), 3, upstream_id=2, branch_index=0)
    assert links(into_branch)[3] == (2, 0, 30)
    assert links(into_branch)[2] == (1, None, None)
    to_head = move_node(sample(), 30, upstream_id=None, branch_index=None)
    assert links(to_head)[30] == (None, None, 1)
    assert check_graph(into_branch, sync=False) == check_graph(to_head, sync=False) == []


def test_move_to_the_same_place_changes_nothing() -> None:
    """Detaching and placing back where it was gives the same links."""
    assert links(move_node(sample(), 2, upstream_id=1, branch_index=None)) == links(sample())


def test_move_into_its_own_branches_is_refused() -> None:
    """A node cannot hang below itself."""
    for target in (2, 20, 21):
        with pytest.raises(InvalidWorkflow) as error:
            move_node(sample(), 2, upstream_id=target, branch_index=None)
        assert problems_of(error) == ["'n2' cannot move below itself or into its own branches"]


def test_move_a_terminal_node_before_others_is_refused() -> None:
    """The End node cannot be moved in front of another step."""
    with pytest.raises(InvalidWorkflow):
        move_node(sample(), 21, upstream_id=1, branch_index=None)


# -- update and copy -------------------------------------------------------------------------


def test_update_changes_only_what_is_given() -> None:
    """A new title leaves the config; a new config is copied, not shared."""
    config: JsonObject = {"rejectOnFalse": True}
    result = update_node(sample(), 2, title="Check")
    assert (result[1].title, result[1].config) == ("Check", {})
    result = update_node(result, 2, config=config)
    config["rejectOnFalse"] = False
    assert (result[1].title, result[1].config) == ("Check", {"rejectOnFalse": True})
    assert update_node(result, 2, title=None)[1].title is None


def test_update_cannot_drop_a_branch_that_holds_nodes() -> None:
    """Removing the condition of a used branch is refused; an empty one may go."""
    nodes = (
        make_node(1, "multi-conditions", config={"conditions": [{}, {}]}),
        make_node(2, "step", upstream=1, branch=1),
    )
    assert update_node(nodes, 1, config={"conditions": [{}]})[0].config == {"conditions": [{}]}
    with pytest.raises(InvalidWorkflow) as error:
        update_node(nodes, 1, config={"conditions": []})
    assert error.value.problems[0].where == "nodes[n1].config"


def test_update_cannot_make_a_followed_response_end_the_flow() -> None:
    """A response with nodes below it keeps `continue: true`: switching it off would strand them."""
    nodes = (
        make_node(1, "response", downstream=2, config={"continue": True}),
        make_node(2, "step", upstream=1),
    )
    assert update_node(nodes, 1, config={"continue": True, "statusCode": 202})[0].config["statusCode"] == 202
    with pytest.raises(InvalidWorkflow) as error:
        update_node(nodes, 1, config={"continue": False})
    assert error.value.problems[0].where == "nodes[n1].config"
    assert "'n2' follows it" in error.value.problems[0].message


def test_update_refuses_values_of_the_wrong_type() -> None:
    """JSON handed over as it came is checked: a title is text, a config an object."""
    with pytest.raises(InvalidWorkflow):
        update_node(sample(), 2, title=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidWorkflow):
        update_node(sample(), 2, config=[])  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        update_node(sample(), 404, title="x")


def test_copy_version_renumbers_and_relinks() -> None:
    """The copy has new ids and workflow id, the same keys and shape, and its own configs."""
    nodes = (*sample()[:-1], make_node(3, "step", upstream=2, config={"deep": {"x": 1}}))
    counter = itertools.count(100)
    result = copy_version(nodes, 9, lambda: next(counter))
    assert [n.id for n in result] == list(range(100, 106))
    assert {n.workflow_id for n in result} == {9}
    assert [n.key for n in result] == [n.key for n in nodes]
    by_key = {n.key: n for n in result}
    assert by_key["n3"].upstream_id == by_key["n2"].id
    assert by_key["n2"].downstream_id == by_key["n3"].id
    assert by_key["n3"].config == {"deep": {"x": 1}}
    assert by_key["n3"].config["deep"] is not nodes[-1].config["deep"]
    assert check_graph(result, sync=False) == []


# -- any edit keeps a valid graph valid ------------------------------------------------------

_KINDS = {
    True: ["step", "condition", "multi-conditions", "end", "response"],
    False: ["step", "condition", "multi-conditions", "end", "pause"],
}
_MISSING = 999


def _kind(n: Node) -> NodeType:
    found = registry.node_type(n.type)
    assert found is not None
    return found


def _config(data: st.DataObject, kind: str) -> JsonObject:
    if kind != "multi-conditions":
        return {}
    return {"conditions": [{}] * data.draw(st.integers(0, 3))}


def _occupant(nodes: tuple[Node, ...], upstream: int | None, branch: int | None) -> Node | None:
    """The node holding a place in the graph."""
    for n in nodes:
        if n.upstream_id == upstream and n.branch_index == branch:
            return n
    return None


def _open_places(nodes: list[Node]) -> list[tuple[int | None, int | None]]:
    """Places at the end of a chain or in an empty branch where a node may hang."""
    if not nodes:
        return [(None, None)]
    places: list[tuple[int | None, int | None]] = []
    for n in nodes:
        if n.downstream_id is None and not _kind(n).terminal:
            places.append((n.id, None))
        for index in range(4):
            if _kind(n).has_branch(n.config, index) and _occupant(tuple(nodes), n.id, index) is None:
                places.append((n.id, index))
    return places


def _valid_graph(data: st.DataObject, sync: bool) -> tuple[Node, ...]:
    """A random valid graph, grown by hanging nodes at open places only."""
    nodes: list[Node] = []
    for node_id in range(1, data.draw(st.integers(0, 9)) + 1):
        places = _open_places(nodes)
        if not places:
            break
        upstream, branch = data.draw(st.sampled_from(places))
        kind = data.draw(st.sampled_from(_KINDS[sync]))
        nodes.append(make_node(node_id, kind, upstream=upstream, branch=branch, config=_config(data, kind)))
        if upstream is not None and branch is None:
            nodes = [replace(n, downstream_id=node_id) if n.id == upstream else n for n in nodes]
    result = tuple(nodes)
    assert check_graph(result, sync=sync) == []
    return result


def _placeable(
    nodes: tuple[Node, ...], moving: Node, occupant: Node | None, upstream: int | None, branch: int | None
) -> bool:
    """Whether the spec lets `moving` go to a place currently held by `occupant`."""
    if upstream is None:
        fits = branch is None
    else:
        target = next(n for n in nodes if n.id == upstream)
        fits = (
            not _kind(target).terminal if branch is None else _kind(target).has_branch(target.config, branch)
        )
    return fits and (occupant is None or not _kind(moving).terminal)


def _expect_add(
    nodes: tuple[Node, ...], new: Node, upstream: int | None, branch: int | None, sync: bool
) -> bool:
    kind = _kind(new)
    allowed = not (kind.sync_only and not sync) and not (kind.async_only and sync)
    return allowed and _placeable(nodes, new, _occupant(nodes, upstream, branch), upstream, branch)


def _expect_move(nodes: tuple[Node, ...], moving: Node, upstream: int | None, branch: int | None) -> bool:
    if upstream == moving.id or upstream in descendants(nodes, moving.id):
        return False
    occupant = _occupant(nodes, upstream, branch)
    if occupant is not None and occupant.id == moving.id:
        # Detaching puts the moving node's downstream in its place first.
        occupant = next((n for n in nodes if n.id == moving.downstream_id), None)
    return _placeable(nodes, moving, occupant, upstream, branch)


def _expect_update(nodes: tuple[Node, ...], target: Node, config: JsonObject) -> bool:
    used = [n.branch_index for n in nodes if n.upstream_id == target.id and n.branch_index is not None]
    return all(_kind(target).has_branch(config, index) for index in used)


Place = tuple[int | None, int | None]


def _edit(data: st.DataObject, nodes: tuple[Node, ...], sync: bool, next_id: int) -> tuple[Node, ...]:
    """One random edit, checked against what the spec says it must do."""
    op = data.draw(st.sampled_from(["add", "remove", "move", "update", "copy"]))
    place: Place = (
        data.draw(st.none() | st.sampled_from([*(n.id for n in nodes), _MISSING])),
        data.draw(st.none() | st.integers(0, 3)),
    )
    if op == "add":
        kind = data.draw(st.sampled_from(_KINDS[not sync] + _KINDS[sync]))
        return _check_add(nodes, fresh(next_id, kind, _config(data, kind)), place, sync)
    if not nodes:
        return nodes
    target = data.draw(st.sampled_from(nodes))
    if op == "remove":
        result = remove_node(nodes, target.id)
        gone = descendants(nodes, target.id) | {target.id}
        assert {n.id for n in result} == {n.id for n in nodes} - gone
        return result
    if op == "move":
        return _check_move(nodes, target, place)
    if op == "update":
        return _check_update(nodes, target, _config(data, target.type), f"edited {next_id}")
    counter = itertools.count(next_id * 100)
    return copy_version(nodes, 2, lambda: next(counter))


def _check_add(nodes: tuple[Node, ...], new: Node, place: Place, sync: bool) -> tuple[Node, ...]:
    upstream, branch = place
    if upstream == _MISSING:
        # A new node that is wrong in itself may be refused before its place is looked up.
        with pytest.raises((NotFound, InvalidWorkflow)):
            add_node(nodes, new, upstream_id=upstream, branch_index=branch, sync=sync)
        return nodes
    if not _expect_add(nodes, new, upstream, branch, sync):
        with pytest.raises(InvalidWorkflow):
            add_node(nodes, new, upstream_id=upstream, branch_index=branch, sync=sync)
        return nodes
    result = add_node(nodes, new, upstream_id=upstream, branch_index=branch, sync=sync)
    assert {n.id for n in result} == {*(n.id for n in nodes), new.id}
    return result


def _check_move(nodes: tuple[Node, ...], target: Node, place: Place) -> tuple[Node, ...]:
    upstream, branch = place
    if upstream == _MISSING or not _expect_move(nodes, target, upstream, branch):
        with pytest.raises((InvalidWorkflow, NotFound)):
            move_node(nodes, target.id, upstream_id=upstream, branch_index=branch)
        return nodes
    result = move_node(nodes, target.id, upstream_id=upstream, branch_index=branch)
    assert {n.id for n in result} == {n.id for n in nodes}
    assert descendants(result, target.id) == descendants(nodes, target.id)
    return result


def _check_update(nodes: tuple[Node, ...], target: Node, config: JsonObject, title: str) -> tuple[Node, ...]:
    if not _expect_update(nodes, target, config):
        with pytest.raises(InvalidWorkflow):
            update_node(nodes, target.id, config=config)
        return nodes
    return update_node(nodes, target.id, config=config, title=title)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.booleans())
def test_random_edits_keep_a_valid_graph_valid(data: st.DataObject, sync: bool) -> None:
    """Each edit of a valid graph gives a valid graph, leaving its input alone, or is refused as specified."""
    nodes = _valid_graph(data, sync)
    event(f"nodes: {len(nodes)}")
    for step in range(data.draw(st.integers(1, 8))):
        before = copy.deepcopy(nodes)
        result = _edit(data, nodes, sync, next_id=1000 + step)
        assert nodes == before
        event("edit changed the graph" if result != nodes else "edit refused or a no-op")
        assert check_graph(result, sync=sync) == []
        nodes = result
