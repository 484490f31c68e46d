"""CPU accounting from /proc: the servers', PostgreSQL's for the run, and other processes'."""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from _postgres import works_for

NOISY_CPU_PCT = 5.0
"""Above this share of the machine used by other processes during a run, the run is flagged noisy."""


@dataclass(frozen=True, slots=True)
class CpuUse:
    """CPU used during a run: by others in % of the machine, by the servers and PostgreSQL in % of a core."""

    other_pct: float
    server_pct: float
    database_pct: float


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """CPU seconds so far: the servers', PostgreSQL's for the run, and everyone else's.

    "Everyone else" is every user-space process but those two, this script and its reaped wrk.
    """

    others: float
    servers: float
    database: float
    at: float


def cpu_times(server_pids: Collection[int] = (), database: str | None = None) -> CpuTimes:
    """A snapshot of CPU time by whom: the servers, PostgreSQL for `database`, and everyone else.

    Kernel threads are left out: the journal and block-device threads work for the server's fsyncs.
    Short-lived processes still count once their parent reaps them (through its children's times).
    """
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    ticks = {"others": 0, "servers": 0, "database": 0}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        try:
            stat = Path(entry.path, "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[6]) & _KERNEL_THREAD:
                continue
            used = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
            if pid in server_pids:
                ticks["servers"] += used
            elif (
                database
                and _is_postgres(stat)
                and works_for(Path(entry.path, "cmdline").read_bytes(), database)
            ):
                ticks["database"] += used
            else:
                ticks["others"] += used
        except OSError:  # the process has just exited
            continue
    return CpuTimes(
        ticks["others"] / tick, ticks["servers"] / tick, ticks["database"] / tick, time.monotonic()
    )


def _is_postgres(stat: str) -> bool:
    """Whether a /proc/PID/stat line is a PostgreSQL process (its command name, not its retitled line)."""
    return stat.split(" (", 1)[1].rsplit(")", 1)[0] == "postgres"


_KERNEL_THREAD = 0x00200000
"""PF_KTHREAD in the flags field of /proc/PID/stat."""


def other_cpu_percent(before: CpuTimes, after: CpuTimes) -> float:
    """CPU used by other processes during a run, in % of the whole machine's capacity."""
    capacity = (after.at - before.at) * (os.cpu_count() or 1)
    return max(0.0, 100 * (after.others - before.others) / capacity) if capacity > 0 else 0.0


def cpu_use(before: CpuTimes, after: CpuTimes) -> CpuUse:
    """Others' CPU in % of the machine; the servers' and PostgreSQL's in % of one core."""
    elapsed = after.at - before.at
    if elapsed <= 0:
        return CpuUse(0.0, 0.0, 0.0)
    return CpuUse(
        other_cpu_percent(before, after),
        100 * (after.servers - before.servers) / elapsed,
        100 * (after.database - before.database) / elapsed,
    )


def wait_for_quiet(limit: float = 60.0) -> None:
    """Wait (up to `limit` seconds) for a second in which other processes left the CPUs alone."""
    deadline = time.monotonic() + limit
    told = False
    while time.monotonic() < deadline:
        before = cpu_times()
        time.sleep(1.0)
        if other_cpu_percent(before, cpu_times()) <= NOISY_CPU_PCT:
            return
        if not told:
            print("      waiting for other processes to leave the CPUs …", flush=True)
            told = True
