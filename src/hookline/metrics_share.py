"""The counts of `hookline serve --processes N` as one: each process writes its own to a file the others read.

A scrape of `/metrics` reaches whichever process the kernel hands the connection to (`SO_REUSEPORT`),
and each process counts only what it answered and ran: Prometheus, shown one process's counts at one
scrape and another's at the next, would take every switch for a counter reset. So each server
process writes its counts (`Metrics.snapshot`) to `<data folder>/metrics/process-<slot>.json` every
`PUBLISH_SECONDS`, and the process answering a scrape writes its own first, then adds up every file:

- the sums lag behind the other processes by at most `PUBLISH_SECONDS`;
- a process that replaces a dead one (same slot) counts on from the counts its predecessor last
  wrote, and whatever a scrape showed was written first, so no sum a scrape showed ever goes down
  (the increments of a killed process's last second are lost unless a scrape showed them);
- the supervisor empties the folder before its processes start: a new `hookline serve` counts from
  zero, as a single process does after a restart.

The files are small JSON documents replaced atomically (write, then rename); they are not fsync'd:
after a power loss the counts restart, as Prometheus expects counters to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from hookline.metrics import Metrics, Snapshot

log = logging.getLogger(__name__)

PUBLISH_SECONDS = 1.0
"""How often a process writes its counts for the others (and so how far behind their sums may be)."""

FOLDER = "metrics"
"""The folder, inside the data folder, that holds one file per server process."""

_PREFIX, _SUFFIX = "process-", ".json"


def shared_folder(data_dir: Path) -> Path:
    """Where the processes of `serve --processes N` with this data folder share their counts."""
    return data_dir / FOLDER


def clear_shared(data_dir: Path) -> None:
    """Forget the counts of a previous `serve --processes N` (before its new processes start)."""
    folder = shared_folder(data_dir)
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith((_PREFIX, "." + _PREFIX)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class SharedMetrics:
    """One process's side: it writes its counts for the others and reads theirs when scraped."""

    def __init__(self, data_dir: Path, slot: int, metrics: Metrics, running: Callable[[], int]) -> None:
        self._folder = shared_folder(data_dir)
        self._path = self._folder / f"{_PREFIX}{slot}{_SUFFIX}"
        self._metrics = metrics
        self._running = running
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Count on from this slot's last counts (a replaced process's), then write them every second."""
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # the scrapes then show this process's counts alone, as one process's
            log.warning("could not create %s to share this process's metrics: %s", self._folder, error)
        predecessor = _read(self._path)
        if predecessor is not None:
            self._metrics.restore(predecessor)
        self.publish()
        self._task = asyncio.create_task(self._publish_every_second(), name="hookline-metrics-share")

    async def stop(self) -> None:
        """Stop writing, after writing the final counts."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.publish()

    def publish(self) -> None:
        """Write this process's counts now; a failure is logged, and the next write tries again."""
        snapshot = self._metrics.snapshot(self._running())
        temporary = self._path.with_name("." + self._path.name)
        try:
            temporary.write_bytes(orjson.dumps(snapshot))
            os.replace(temporary, self._path)
        except OSError as error:
            log.warning("could not write this process's metrics to %s: %s", self._path, error)

    def others(self) -> list[Snapshot]:
        """The counts the other processes wrote last (after writing this one's, so a scrape's are kept)."""
        self.publish()
        found = []
        for path in sorted(self._folder.glob(f"{_PREFIX}*{_SUFFIX}")):
            if path != self._path and (snapshot := _read(path)) is not None:
                found.append(snapshot)
        return found

    async def _publish_every_second(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_SECONDS)
            self.publish()


def _read(path: Path) -> Snapshot | None:
    """A process's counts, or None when its file is missing or unreadable (then it adds nothing)."""
    try:
        snapshot = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as error:
        log.warning("ignoring the metrics file %s: %s", path, error)
        return None
    return snapshot if isinstance(snapshot, dict) else None
