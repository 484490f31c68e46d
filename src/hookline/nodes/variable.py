"""The variable node: declare a workflow variable, or assign a new value to one declared upstream."""

from __future__ import annotations

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes._config import where
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

VARIABLE_TYPE = "variable"

ASSIGNS = "assigns"
"""The job meta key naming the variable node a job assigned to; the engine applies it to the scope."""


def assign_target(config: JsonObject) -> str | None:
    """The key of the variable node a config assigns to; None when it declares a variable."""
    target = config.get("target")
    return target if isinstance(target, str) and target else None


class VariableNode(NodeType):
    """Its result is its rendered `value`; with a `target`, that variable reads the value from then on.

    The node only says what it assigned (job meta `assigns`); the engine makes
    `{{$jobsMapByNodeKey.<target>}}` read it, now and when the scope is rebuilt from the jobs.
    """

    type = VARIABLE_TYPE
    outside_effects = False

    def check(self, config: JsonObject) -> list[Problem]:
        """The problem with `target`: null, or the key of a variable node upstream; `value` is any JSON."""
        target = config.get("target")
        if target is None or (isinstance(target, str) and target):
            return []
        return [Problem(where("target"), "must be the key of a variable node upstream, or null to declare")]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Render the value; an assignment names its target in the job's meta."""
        value = ctx.render(config.get("value"))
        target = assign_target(config)
        return Outcome(JobStatus.RESOLVED, value, meta={ASSIGNS: target} if target else {})
