"""Workflow variables: how an assigning variable node's job changes `$jobsMapByNodeKey`.

A variable node that assigns records the value as its own result and names its target in the job's
meta (`assigns`). Applying the jobs in the order they were recorded gives every node key its latest
value, so the scope of a run and the scope rebuilt from stored jobs after a crash are the same.
The target must be a variable node upstream of the assigning node (on the path that runs before
it): checked when the workflow is saved (`check_assignments`) and again when the node runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from hookline.errors import Problem
from hookline.models import Job, JobStatus, Node
from hookline.nodes.base import Outcome
from hookline.nodes.variable import ASSIGNS, VARIABLE_TYPE, assign_target
from hookline.types import JsonObject, JsonValue

if TYPE_CHECKING:  # only types: the graph checks call `check_assignments`, so no import back at run time
    from hookline.engine.graph import Graph, NodeLink

_Kind = tuple[str | None, JsonObject]
"""A node's type and config, as the target checks need them."""


def apply_job(results: dict[str, JsonValue], job: Job) -> None:
    """Record a job's result under its node key, and under the variable it assigned, if any."""
    results[job.node_key] = job.result
    target = job.meta.get(ASSIGNS)
    if isinstance(target, str) and job.status is JobStatus.RESOLVED:
        results[target] = job.result


def results_by_node_key(jobs: Iterable[Job]) -> dict[str, JsonValue]:
    """`$jobsMapByNodeKey` rebuilt from recorded jobs, applied in the order they were recorded."""
    results: dict[str, JsonValue] = {}
    for job in jobs:
        apply_job(results, job)
    return results


def checked_assignment(graph: Graph, node: Node, outcome: Outcome) -> Outcome:
    """The outcome, or an error outcome when it assigns to a node that is not a variable upstream.

    The save-time check makes this rare: only a graph changed under a running execution gets here.
    """
    target = outcome.meta.get(ASSIGNS)
    if not isinstance(target, str):
        return outcome
    upstream = _upstream_keys(node.key, lambda key: _graph_upstream(graph, key))
    problem = _target_problem(target, upstream, lambda key: _graph_kind(graph, key))
    return outcome if problem is None else Outcome(JobStatus.ERROR, {"message": f"Cannot assign: {problem}."})


def check_assignments(links: Sequence[NodeLink]) -> list[Problem]:
    """A problem at `nodes[<key>].config.target` for each variable node assigning outside its upstream."""
    by_key = {link.key: link for link in links}
    problems = []
    for link in links:
        target = assign_target(link.config) if link.type == VARIABLE_TYPE else None
        if target is None:
            continue
        upstream = _upstream_keys(link.key, lambda key: _link_upstream(by_key, key))
        problem = _target_problem(target, upstream, lambda key: _link_kind(by_key, key))
        if problem is not None:
            problems.append(Problem(f"nodes[{link.key}].config.target", problem))
    return problems


def _target_problem(target: str, upstream: list[str], kind_of: Callable[[str], _Kind]) -> str | None:
    if target not in upstream:
        return f"{target!r} is not a node upstream of this one (it must run before it, on its path)"
    type_name, config = kind_of(target)
    if type_name != VARIABLE_TYPE:
        return f"{target!r} is a {type_name} node, not a variable node"
    if assign_target(config) is not None:
        return f"{target!r} assigns to another variable itself; assign to the node that declares it"
    return None


def _upstream_keys(key: str, upstream_of: Callable[[str], str | None]) -> list[str]:
    """The keys above `key`, nearest first; a cycle (reported by the graph checks) ends the walk."""
    found: list[str] = []
    current = upstream_of(key)
    while current is not None and current not in found and current != key:
        found.append(current)
        current = upstream_of(current)
    return found


def _graph_upstream(graph: Graph, key: str) -> str | None:
    above = _graph_node(graph, key)
    upstream = graph.upstream(above) if above is not None else None
    return upstream.key if upstream is not None else None


def _graph_kind(graph: Graph, key: str) -> _Kind:
    node = _graph_node(graph, key)
    return (node.type, node.config) if node is not None else (None, {})


def _graph_node(graph: Graph, key: str) -> Node | None:
    try:
        return graph.by_key(key)
    except KeyError:
        return None


def _link_upstream(by_key: dict[str, NodeLink], key: str) -> str | None:
    link = by_key.get(key)
    return link.upstream if link is not None else None


def _link_kind(by_key: dict[str, NodeLink], key: str) -> _Kind:
    link = by_key.get(key)
    return (link.type, link.config) if link is not None else (None, {})
