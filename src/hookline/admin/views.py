"""JSON views of workflows, nodes, executions and jobs, as the admin API and the CLI show them.

Ids are strings: they are 64-bit numbers, more than a JavaScript number holds exactly.
"""

from __future__ import annotations

from datetime import datetime

from hookline.models import Execution, Flow, Job, Node, Workflow
from hookline.types import JsonObject


def workflow_view(workflow: Workflow, webhook_url: str) -> JsonObject:
    """One workflow version, with the full URL that triggers it."""
    return {
        "id": str(workflow.id),
        **workflow.settings(),
        "current": workflow.current,
        "webhook_url": webhook_url,
        "created_at": _time(workflow.created_at),
        "updated_at": _time(workflow.updated_at),
    }


def flow_view(flow: Flow, webhook_url: str, *, executions: int | None = None) -> JsonObject:
    """A workflow version with its nodes (and, when given, how many executions it has)."""
    view = workflow_view(flow.workflow, webhook_url)
    view["nodes"] = [node_view(node) for node in flow.nodes]
    if executions is not None:
        view["executions"] = executions
    return view


def node_view(node: Node) -> JsonObject:
    """One node with its links by id."""
    return {
        "id": str(node.id),
        "key": node.key,
        "type": node.type,
        "title": node.title,
        "config": node.config,
        "upstream_id": _id(node.upstream_id),
        "downstream_id": _id(node.downstream_id),
        "branch_index": node.branch_index,
    }


def execution_view(execution: Execution) -> JsonObject:
    """One execution: its trigger data, status, answer and timing."""
    return {
        "id": str(execution.id),
        "workflow_id": str(execution.workflow_id),
        "key": execution.key,
        "event_key": execution.event_key,
        "parent_id": str(execution.parent_id) if execution.parent_id is not None else None,
        "status": execution.status.value,
        "attempt": execution.attempt,
        "error": execution.error,
        "context": execution.context,
        "response": execution.response,
        "output": execution.output,
        "created_at": _time(execution.created_at),
        "started_at": _time(execution.started_at),
        "finished_at": _time(execution.finished_at),
    }


def execution_detail_view(execution: Execution, jobs: list[Job]) -> JsonObject:
    """An execution with every job it recorded."""
    view = execution_view(execution)
    view["jobs"] = [job_view(job) for job in jobs]
    return view


def job_view(job: Job) -> JsonObject:
    """One node run: its status, result and timing."""
    return {
        "id": str(job.id),
        "node_id": str(job.node_id),
        "node_key": job.node_key,
        "status": job.status.value,
        "result": job.result,
        "meta": job.meta,
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _id(value: int | None) -> str | None:
    return str(value) if value is not None else None
