"""Server processes and their memory from /proc: the children of a supervisor, each one's peak RSS."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (`hookline serve --processes N`'s server processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process has just exited
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def with_children(pids: Iterable[int]) -> tuple[int, ...]:
    """These processes and their children, each once (the supervisor first, then its servers)."""
    every: list[int] = []
    for pid in pids:
        every += [pid, *children(pid)]
    return tuple(dict.fromkeys(every))


def wait_for_children(pid: int, count: int, timeout: float = 30.0, settle: float = 2.0) -> tuple[int, ...]:
    """`pid` and its children, once `count` of them are servers and they had `settle` s to start.

    A spawned server process imports hookline before it serves (about 2 s): the first one to answer
    /healthz does not mean the others do. multiprocessing's resource tracker is a child too (not
    counted as a server, but returned with them).
    """
    deadline = time.monotonic() + timeout
    while len(_servers(children(pid))) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(settle)
    return with_children([pid])


def _servers(pids: list[int]) -> list[int]:
    """The processes that are not multiprocessing's resource tracker."""
    found = []
    for pid in pids:
        try:
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory so far (VmHWM) in MB, None when it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_rss_of(pids: Iterable[int]) -> list[float]:
    """The peak RSS in MB of each of these processes and their children that is still there.

    Read just before the servers stop: VmHWM is a high-water mark, so it covers the whole run.
    """
    return [mb for mb in map(peak_rss_mb, with_children(pids)) if mb is not None]
