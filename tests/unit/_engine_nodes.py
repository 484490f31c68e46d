"""Node types the engine's unit tests register: they note what ran, raise, hang or ask to be called again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hookline.models import JobStatus
from hookline.nodes.base import NodeContext, Outcome, WaitReason
from hookline.types import JsonObject
from tests.integration._node_types import AnyConfigNode, registered


class RecordNode(AnyConfigNode):
    """Test node: notes its step in `ran` and resolves with its rendered `value`."""

    type: ClassVar[str] = "unit-record"
    ran: ClassVar[list[str]] = []
    """The steps each record, raise and hang node ran, in order (a step key is the node key outside loops)."""

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Note the step and resolve with the rendered `value`."""
        self.ran.append(ctx.step_key)
        return Outcome(JobStatus.RESOLVED, ctx.render(config.get("value")))


class RaiseNode(RecordNode):
    """Test node: notes its step, then raises, as a failing node would."""

    type: ClassVar[str] = "unit-raise"

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Note the step and raise."""
        self.ran.append(ctx.step_key)
        raise RuntimeError("the third party said no")


class HangNode(RecordNode):
    """Test node: notes its step; while `hangs`, sets `entered` and never returns, else resolves.

    While it hangs, only a timeout or a cancel ends it.
    """

    type: ClassVar[str] = "unit-hang"
    hangs: ClassVar[bool] = True
    entered: ClassVar[asyncio.Event]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Note the step; hang if `hangs`, else resolve with "done"."""
        self.ran.append(ctx.step_key)
        if self.hangs:
            self.entered.set()
            await asyncio.Event().wait()
        return Outcome(JobStatus.RESOLVED, "done")


class RetryNode(RecordNode):
    """Test node: asks to be called again `waits` times (after `seconds`, for `reason`), then resolves.

    Every call is noted in `calls` as (attempt, job id, the state of the pending job it was given).
    """

    type: ClassVar[str] = "unit-retry"
    calls: ClassVar[list[tuple[int, int, Any]]] = []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Note the call; wait again until it has waited `waits` times, then resolve."""
        state = ctx.previous.result if ctx.previous is not None else None
        self.calls.append((ctx.attempt, ctx.job_id, state))
        if len(self.calls) <= config.get("waits", 1):
            until = datetime.now(UTC) + timedelta(seconds=config.get("seconds", 0.0))
            return Outcome.later(
                until, {"waited": len(self.calls)}, WaitReason(config.get("reason", "retry"))
            )
        return Outcome(JobStatus.RESOLVED, {"calls": len(self.calls)})


@contextmanager
def registered_fresh() -> Iterator[None]:
    """Register every node type here, with fresh notes, for the block; unregister them after it."""
    RecordNode.ran, RetryNode.calls = [], []
    HangNode.hangs, HangNode.entered = True, asyncio.Event()
    with registered(RecordNode(), RaiseNode(), HangNode(), RetryNode()):
        yield
