"""The variable node, and how the engine applies its assignments to `$jobsMapByNodeKey`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hookline.engine.assignments import (
    apply_job,
    check_assignments,
    checked_assignment,
    results_by_node_key,
)
from hookline.engine.graph import Graph, NodeLink
from hookline.models import Job, JobStatus, Node
from hookline.nodes.base import Outcome
from hookline.nodes.registry import node_type
from hookline.nodes.variable import ASSIGNS, VariableNode
from hookline.types import JsonObject, JsonValue
from tests.unit._nodes import FakeContext

CTX = FakeContext({"$context": {"body": {"total": 12.5, "order": {"id": 7}}}})
NODE = VariableNode()
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job(key: str, result: JsonValue, meta: JsonObject | None = None, status: str = "resolved") -> Job:
    """A recorded job of node `key`."""
    return Job(1, 1, 1, key, JobStatus(status), result, meta or {}, NOW, NOW)


def test_variable_is_registered() -> None:
    """The registry knows the node under `variable`."""
    assert isinstance(node_type("variable"), VariableNode)


async def test_declaring_keeps_the_rendered_value_and_its_type() -> None:
    """A declaration's result is its value rendered; one placeholder keeps a number a number."""
    outcome = await NODE.run({"value": "{{$context.body.total}}"}, CTX)
    assert outcome == Outcome(JobStatus.RESOLVED, 12.5)
    assert (await NODE.run({}, CTX)).result is None


async def test_assigning_names_its_target_in_the_meta() -> None:
    """An assignment's result is the value, and its meta says which variable it assigned."""
    outcome = await NODE.run({"target": "total", "value": {"id": "{{$context.body.order.id}}"}}, CTX)
    assert outcome == Outcome(JobStatus.RESOLVED, {"id": 7}, meta={ASSIGNS: "total"})


@pytest.mark.parametrize("target", [None, "v1"])
def test_a_null_or_named_target_is_valid(target: Any) -> None:
    """A declaration (null target) and an assignment (a key) pass; any value is valid JSON."""
    assert NODE.check({"target": target, "value": [1, {"a": None}]}) == []


@pytest.mark.parametrize("target", ["", 3, ["v1"]])
def test_a_target_that_is_not_a_key_is_a_problem(target: Any) -> None:
    """An empty or non-string target is a problem at config.target."""
    assert [p.where for p in NODE.check({"target": target})] == ["config.target"]


def test_jobs_are_applied_in_the_order_they_were_recorded() -> None:
    """Rebuilt from jobs, the target reads the last value assigned to it; others keep their own."""
    jobs = [
        job("v", 1),
        job("set1", 2, {ASSIGNS: "v"}),
        job("other", "x"),
        job("set2", 3, {ASSIGNS: "v"}),
    ]
    assert results_by_node_key(jobs) == {"v": 3, "set1": 2, "other": "x", "set2": 3}


def test_a_failed_job_assigns_nothing() -> None:
    """Only a resolved assigning job changes its target."""
    results: dict[str, JsonValue] = {"v": 1}
    apply_job(results, job("set", 2, {ASSIGNS: "v"}, status="error"))
    assert results == {"v": 1, "set": 2}


def links(*entries: tuple[str, str, str | None, JsonObject]) -> list[NodeLink]:
    """NodeLinks from (key, type, upstream, config)."""
    return [NodeLink(key, kind, upstream, None, config) for key, kind, upstream, config in entries]


def test_assigning_to_a_variable_upstream_is_valid() -> None:
    """A target declared above the assigning node, even across a branching node, passes."""
    graph = links(
        ("v", "variable", None, {}),
        ("c", "condition", "v", {}),
        ("set", "variable", "c", {"target": "v"}),
    )
    assert check_assignments(graph) == []


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        ([("set", "variable", None, {"target": "v"}), ("v", "variable", "set", {})], "not a node upstream"),
        ([("set", "variable", None, {"target": "gone"})], "not a node upstream"),
        ([("v", "end", None, {}), ("set", "variable", "v", {"target": "v"})], "end node, not a variable"),
        (
            [
                ("v", "variable", None, {}),
                ("a", "variable", "v", {"target": "v"}),
                ("b", "variable", "a", {"target": "a"}),
            ],
            "assigns to another variable itself",
        ),
    ],
)
def test_a_target_outside_the_upstream_variables_is_a_problem(entries: list[Any], words: str) -> None:
    """Downstream, missing, non-variable and assigning targets are problems at the assigning node's target."""
    problems = check_assignments(links(*entries))
    assert len(problems) == 1
    assert problems[0].where.endswith(".config.target")
    assert words in problems[0].message


def test_a_variable_in_a_sibling_branch_is_not_upstream() -> None:
    """A variable declared in a branch is not upstream of the nodes after the branching node."""
    graph = [
        NodeLink("c", "condition", None),
        NodeLink("v", "variable", "c", 1),
        NodeLink("set", "variable", "c", None, {"target": "v"}),
    ]
    assert [p.where for p in check_assignments(graph)] == ["nodes[set].config.target"]


def test_an_assignment_the_graph_no_longer_allows_becomes_an_error_at_run_time() -> None:
    """When the running graph has no such variable upstream, the outcome turns into an error."""
    nodes = [
        Node(1, 1, "v", "end", downstream_id=2),
        Node(2, 1, "set", "variable", {"target": "v"}, upstream_id=1),
    ]
    outcome = checked_assignment(Graph(nodes), nodes[1], Outcome(JobStatus.RESOLVED, 1, meta={ASSIGNS: "v"}))
    assert outcome.status is JobStatus.ERROR
    assert isinstance(outcome.result, dict)
    assert "not a variable node" in outcome.result["message"]
    fine = Outcome(JobStatus.RESOLVED, 1)
    assert checked_assignment(Graph(nodes), nodes[1], fine) is fine
