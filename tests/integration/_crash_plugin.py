"""Node types for the crash tests, loaded by a live server through `HOOKLINE_PLUGINS`.

They leave traces outside the server process (files), so a test can see across a SIGKILL
which nodes ran and how often.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.registry import register
from hookline.types import JsonObject
from tests.integration._plugin_files import append_line, until_exists


class WorkNode(NodeType):
    """Takes `seconds` (default 0.005) of asynchronous work, so executions are in flight."""

    type: ClassVar[str] = "crash-work"

    def check(self, config: JsonObject) -> list[Problem]:
        """Accept any config."""
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Work a little, then resolve."""
        seconds = config.get("seconds", 0.005)
        await asyncio.sleep(seconds if isinstance(seconds, int | float) else 0.005)
        return Outcome(JobStatus.RESOLVED, None)


class AppendNode(NodeType):
    """Appends `<node key> <tag>` to the file `log` (the tag is `{{$context.body.tag}}`)."""

    type: ClassVar[str] = "crash-append"

    def check(self, config: JsonObject) -> list[Problem]:
        """The config needs the path of the log file."""
        return [] if isinstance(config.get("log"), str) else [Problem("log", "a file path is required")]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Append one line, so that every run of this node shows in the file."""
        line = f"{ctx.node.key} {ctx.render('{{$context.body.tag}}')}\n"
        append_line(Path(str(config["log"])), line)
        return Outcome(JobStatus.RESOLVED, None)


class BlockNode(NodeType):
    """Waits until the file `marker` exists: a run that is stuck until a test lets it go."""

    type: ClassVar[str] = "crash-block"

    def check(self, config: JsonObject) -> list[Problem]:
        """The config needs the path of the marker file."""
        valid = isinstance(config.get("marker"), str)
        return [] if valid else [Problem("marker", "a file path is required")]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Look for the marker every 10 ms (this waiting is the node's work), then resolve."""
        await until_exists(Path(str(config["marker"])))
        return Outcome(JobStatus.RESOLVED, None)


for _kind in (WorkNode(), AppendNode(), BlockNode()):
    register(_kind)
