"""How the CLI shows things to people: workflow summaries, node trees, executions and answers.

Scripts use `--json` instead, which prints the admin API's views (`hookline.admin.views`):
one indented object for a single thing, one object per line for a list.
"""

from __future__ import annotations

from typing import Any

import click
import orjson

from hookline.engine.graph import Graph
from hookline.models import Answer, Execution, Flow, Node, Workflow
from hookline.nodes.condition import ConditionNode

CONDITION_LABELS = {1: "yes", 0: "no"}
"""A condition's branches by index: true runs branch 1, false branch 0."""


def echo_json(data: Any) -> None:
    """Print one JSON document, indented."""
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def echo_json_line(data: Any) -> None:
    """Print one JSON document on one line (a list prints one of these per item)."""
    click.echo(one_line(data))


def one_line(value: Any) -> str:
    """A JSON value on one line."""
    return orjson.dumps(value).decode()


def describe(workflow: Workflow) -> str:
    """`sync, enabled, current`: a version's mode and state in words."""
    words = ["sync" if workflow.sync else "async", "enabled" if workflow.enabled else "disabled"]
    if workflow.current:
        words.append("current")
    return ", ".join(words)


def workflow_summary(flow: Flow, webhook_url: str, executions: int) -> list[str]:
    """A version's header lines followed by its node tree."""
    workflow = flow.workflow
    lines = [
        f"workflow {workflow.key}  (version {workflow.id}: {describe(workflow)})",
        f"title: {workflow.title}",
    ]
    if workflow.description:
        lines.append(f"description: {workflow.description}")
    lines += [f"webhook URL: {webhook_url}", f"executions: {executions}"]
    tree = node_tree(flow.nodes)
    return [*lines, "nodes:" if tree else "nodes: (none)", *tree]


def node_tree(nodes: tuple[Node, ...]) -> list[str]:
    """The nodes as an indented tree: the main chain, each branch below its node, labelled."""
    graph = Graph(nodes)
    seen: set[int] = set()
    lines = _chain(graph, graph.head, "  ", seen)
    unlinked = [node for node in nodes if node.id not in seen]
    if unlinked:
        lines.append("  (not linked to the head)")
        lines += [f"    {_node_label(node)}" for node in unlinked]
    return lines


def _chain(graph: Graph, node: Node | None, indent: str, seen: set[int]) -> list[str]:
    """A chain of nodes from `node` on, each followed by its branches one level deeper."""
    lines: list[str] = []
    while node is not None and node.id not in seen:  # `seen` also stops a corrupt cycle
        seen.add(node.id)
        lines.append(f"{indent}{_node_label(node)}")
        for index, head in _branches(graph, node):
            lines.append(f"{indent}  {_branch_label(node, index)}:")
            lines += _chain(graph, head, indent + "    ", seen)
        node = graph.downstream(node)
    return lines


def _branches(graph: Graph, node: Node) -> list[tuple[int, Node]]:
    """A node's branch heads by index; a condition's "yes" (1) before its "no" (0), as people read it."""
    heads = graph.branch_heads(node)
    return heads[::-1] if node.type == ConditionNode.type else heads


def _node_label(node: Node) -> str:
    title = f"  {node.title}" if node.title else ""
    return f"{node.key} ({node.type}){title}"


def _branch_label(node: Node, index: int) -> str:
    if node.type == ConditionNode.type:
        return CONDITION_LABELS.get(index, f"branch {index}")
    return f"branch {index}"


def version_line(workflow: Workflow, executions: int) -> str:
    """One version in a list of versions."""
    created = workflow.created_at.isoformat(timespec="seconds") if workflow.created_at else "-"
    current = "current" if workflow.current else "-"
    state = "enabled" if workflow.enabled else "disabled"
    return f"{workflow.id}  {current:7}  {state:8}  {executions:>6} executions  {created}  {workflow.title}"


def execution_line(execution: Execution) -> str:
    """One execution in a list of executions."""
    when = execution.created_at.isoformat(timespec="seconds")
    line = f"{execution.id}  {execution.key}  {execution.status.value:9}  {when}  {execution.error or ''}"
    return line.rstrip()


def execution_detail(data: dict[str, Any]) -> str:
    """An execution (its detail view) with its context, answer and jobs, for people."""
    lines = [
        f"execution {data['id']}  workflow {data['key']}  status {data['status']}  attempt {data['attempt']}",
        f"created {data['created_at']}  finished {data['finished_at'] or '-'}",
    ]
    if data["error"]:
        lines.append(f"error: {data['error']}")
    lines.append("context: " + one_line(data["context"]))
    if data["response"] is not None:
        lines.append("response: " + one_line(data["response"]))
    lines.append("jobs:" if data["jobs"] else "jobs: (none)")
    for job in data["jobs"]:
        notes = "".join(f"[{note}] " for note in job_notes(job.get("meta") or {}))
        lines.append(f"  {job['node_key']:20} {job['status']:9} {notes}{one_line(job['result'])}")
    return "\n".join(lines)


def job_notes(meta: dict[str, Any]) -> list[str]:
    """What a job's meta says about how it ran: its loop item, its attempts, what it waits for."""
    notes = []
    frame = meta.get("iteration")
    if isinstance(frame, str) and frame:
        # `loop#2/inner#0/`: the innermost loop and its item, counted from 1 as people count.
        loop, _, index = frame.rstrip("/").rpartition("/")[2].partition("#")
        notes.append(f"{loop} item {int(index) + 1}" if index.isdigit() else frame)
    attempt = meta.get("attempt")
    if isinstance(attempt, int) and attempt > 1:
        notes.append(f"{attempt} attempts")
    until = meta.get("waitingUntil")
    if isinstance(until, str) and meta.get("waitReason") == "event":
        notes.append(f"waiting for another execution to end (next check {until})")
    elif isinstance(until, str):
        notes.append(f"waiting until {until} ({meta.get('waitReason', 'retry')})")
    return notes


def answer_lines(answer: Answer) -> list[str]:
    """The HTTP answer an execution gave: its status and body."""
    lines = [f"answer: {answer.status_code}"]
    if answer.body is not None:
        lines.append(answer.body if isinstance(answer.body, str) else one_line(answer.body))
    return lines
