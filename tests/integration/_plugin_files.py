"""Files the test plugins' nodes write and watch: how a node in a server process leaves a trace or waits.

A test in another process reads the traces and creates the files a node waits for, so these work
across a SIGKILL and between processes, where no event can be shared.
"""

from __future__ import annotations

import asyncio
from pathlib import Path


def append_line(path: Path, line: str) -> None:
    """Append one line in a single write, flushed at once (O_APPEND keeps it whole)."""
    with path.open("a", encoding="utf-8") as file:
        file.write(line)


async def until_exists(path: Path) -> None:
    """Return once the file exists, looking every 10 ms."""
    # The file comes from another process, so there is no event to wait on.
    while not _exists(path):  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def _exists(path: Path) -> bool:
    """Whether a file exists (a stat call, quick enough to make inside the event loop)."""
    return path.exists()
