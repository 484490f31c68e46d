"""A node type for the concurrency tests with live processes, loaded through `HOOKLINE_PLUGINS`.

Each run appends `begin <n> <pid>` to a log file (`n` is the request's `body.n`), works a little,
then appends `end <n> <pid>`, also when it is stopped.
Appends to one file from several processes land in the order they happen, so reading the file
back shows whether two runs were ever in flight at once, whichever processes ran them. (Tests
must not import this module: it registers the node type in the process that imports it.)
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import ClassVar

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.registry import register
from hookline.types import JsonObject
from tests.integration._plugin_files import append_line, until_exists


class OverlapNode(NodeType):
    """Logs its begin and end to the file `log`, with `seconds` (default 0.01) of work in between.

    With `gate` (a file path), a run whose `body.n` is `free` (default 0) or more first waits
    until that file exists: a run that holds its place until a test lets it go.
    """

    type: ClassVar[str] = "limit-overlap"

    def check(self, config: JsonObject) -> list[Problem]:
        """The config needs the path of the log file."""
        return [] if isinstance(config.get("log"), str) else [Problem("log", "a file path is required")]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Log the begin, wait for the gate if there is one, work, log the end."""
        log = Path(str(config["log"]))
        n = ctx.render("{{$context.body.n}}")
        seconds = config.get("seconds", 0.01)
        append_line(log, f"begin {n} {os.getpid()}\n")
        try:
            gate, free = config.get("gate"), config.get("free", 0)
            if isinstance(gate, str) and isinstance(n, int) and isinstance(free, int) and n >= free:
                await until_exists(Path(gate))
            await asyncio.sleep(seconds if isinstance(seconds, int | float) else 0.01)
        finally:
            append_line(log, f"end {n} {os.getpid()}\n")
        return Outcome(JobStatus.RESOLVED, None)


register(OverlapNode())
