"""The subflow node: run another workflow with a context of this one's making.

As NocoBase's "call workflow" node: `workflow` names the other workflow by key, `context` (templated)
becomes its trigger context (`$context` there: `{"body": ..., "headers": ..., "query": ...}`), and
with `wait` (the default) the node waits for it. A synchronous workflow then runs at once and its
answer is the result; an asynchronous one is queued and the node waits for it to finish, durably
(the parent is `waiting`, and woken when the child ends). Without `wait` the child is queued and the
workflow goes on. The child is started once per step, whatever crashes and retries happen, and the
two executions name each other (the job's result, the child's `parent_id`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hookline.errors import NodeError, Problem
from hookline.models import ExecutionStatus, JobStatus
from hookline.nodes._config import check_bool, where
from hookline.nodes.base import ChildRun, NodeContext, NodeType, Outcome, Subflows, WaitReason
from hookline.types import JsonObject, JsonValue

KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a workflow key looks like (as import accepts them)."""
FIRST_CHECK_SECONDS = 0.25
LAST_CHECK_SECONDS = 5.0
"""How soon the node looks at a queued child again: sooner at first, every 5 s at most. A child
that ends wakes its parent at once; these checks are the fallback."""


class SubflowNode(NodeType):
    """Call another workflow, and (by default) go on with how it ended."""

    type = "subflow"

    def check(self, config: JsonObject) -> list[Problem]:
        """`workflow` is a key; `context`, when given, an object (templated); `wait` true or false."""
        problems = check_bool(config, "wait")
        key = config.get("workflow")
        if not isinstance(key, str) or not KEY.fullmatch(key):
            problems.append(Problem(where("workflow"), "is required: the key of the workflow to call"))
        context = config.get("context")
        if context is not None and not isinstance(context, dict) and not _is_template(context):
            problems.append(
                Problem(where("context"), 'must be an object such as {"body": "{{$context.body}}"}')
            )
        return problems

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Start the child (once), then wait for it when asked to; the result names it."""
        subflows = ctx.resources.subflows
        if subflows is None:
            return Outcome(JobStatus.ERROR, {"message": "this run cannot start other workflows"})
        wait = config.get("wait", True) is not False
        state = ctx.previous.result if ctx.previous is not None else None
        try:
            child = await _child_of(state, subflows) or await _start(config, ctx, subflows, wait)
        except NodeError as error:
            return Outcome(JobStatus.ERROR, {"message": error.message})
        result = _result(child)
        if not wait:
            return Outcome(JobStatus.RESOLVED, result)
        if not child.status.is_final:
            checks = state.get("checks", 0) if isinstance(state, dict) else 0
            seconds = min(LAST_CHECK_SECONDS, FIRST_CHECK_SECONDS * 2 ** min(checks, 8))
            until = datetime.now(UTC) + timedelta(seconds=seconds)
            return Outcome.later(until, {**result, "checks": checks + 1}, WaitReason.EVENT)
        if child.status is ExecutionStatus.RESOLVED:
            return Outcome(JobStatus.RESOLVED, result)
        message = f"workflow {child.key!r} ended {child.status.value} (execution {child.execution_id})"
        return Outcome(JobStatus.FAILED, {**result, "message": message})


async def _start(config: JsonObject, ctx: NodeContext, subflows: Subflows, wait: bool) -> ChildRun:
    """Start the child with the rendered context (run now when it is synchronous and awaited)."""
    context = ctx.render(config.get("context") or {})
    if not isinstance(context, dict):
        raise NodeError(f"context must render to an object, not {type(context).__name__}")
    return await subflows.start(
        config["workflow"], context, parent_id=ctx.execution_id, step_key=ctx.step_key, run_now=wait
    )


async def _child_of(state: JsonValue, subflows: Subflows) -> ChildRun | None:
    """The child a pending job names (called again after a wait), as it stands now."""
    if not isinstance(state, dict) or not isinstance(state.get("execution"), str):
        return None
    child = await subflows.state(int(state["execution"]))
    if child is None:
        raise NodeError(f"execution {state['execution']} of workflow {state.get('workflow')!r} is gone")
    return child


def _result(child: ChildRun) -> JsonObject:
    """The job's result: the child's id (as text, like every id in the API), key, status, answer."""
    return {
        "execution": str(child.execution_id),
        "workflow": child.key,
        "status": child.status.value,
        "answer": child.answer,
    }


def _is_template(value: JsonValue) -> bool:
    """A string holding `{{ }}`: checked when it runs, once its variables have values."""
    return isinstance(value, str) and "{{" in value
