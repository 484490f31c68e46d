"""The machine: the tools the benchmark needs (wrk, taskset, two CPUs, PostgreSQL) and its description."""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

from _postgres import PostgresError, describe
from _scenarios import ROOT, BenchError, Options, tuning_variables, uses_postgres


def ensure_tools(options: Options) -> None:
    """Make sure wrk and taskset exist and both CPUs are usable; install wrk with apt-get as root."""
    if shutil.which("taskset") is None:
        raise BenchError("taskset is missing (Debian package util-linux).")
    available = os.sched_getaffinity(0)
    if not {options.server_cpu, options.client_cpu} <= available or options.server_cpu == options.client_cpu:
        raise BenchError(
            f"need two distinct usable CPUs {options.server_cpu} and {options.client_cpu}; "
            f"this process may use {sorted(available)} (see --server-cpu/--client-cpu)"
        )
    if shutil.which("wrk") is None:
        install_tool("wrk")
    if uses_postgres(options):
        try:
            describe(options.postgres_url)
        except PostgresError as error:
            raise BenchError(f"{error} (PostgreSQL scenarios need it; see --postgres-url)") from None


def install_tool(name: str) -> None:
    """`apt-get install -y <name>` (a package with a command of that name), as root only.

    It runs `apt-get update` once first when the package list does not know the package yet.
    """
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        hint = f"Debian: `sudo apt-get install -y {name}`"
        raise BenchError(f"{name} is missing: install it ({hint}) and run again.")
    print(f"{name} is missing; installing it with apt-get …", flush=True)
    install = ["apt-get", "install", "-y", "-q", name]
    if subprocess.run(install, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
        done = subprocess.run(install, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"apt-get install {name} failed:\n{done.stderr.strip()}")
    if shutil.which(name) is None:
        raise BenchError(f"{name} is still missing after apt-get install {name}.")


def machine_lines(options: Options) -> list[str]:
    """The machine, versions and date, as lines for the report."""
    wrk = subprocess.run(["wrk", "--version"], check=False, capture_output=True, text=True)
    wrk_version = (wrk.stdout or wrk.stderr).splitlines()[0].split(" Copyright")[0]
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True
    )
    changed = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
        check=False,
        capture_output=True,
        text=True,
    )
    dirty = " (src/ has uncommitted changes)" if changed.stdout.strip() else ""
    lines = [
        f"date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"nproc: {os.cpu_count()}; CPU: {_cpu_model()}",
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; {wrk_version}",
        f"data folder: {tempfile.gettempdir()} ({_filesystem(Path(tempfile.gettempdir()))})",
        f"commit: {commit.stdout.strip() or 'unknown'}{dirty}",
        "hookline settings: "
        + (" ".join(f"{k}={v}" for k, v in tuning_variables().items()) or "defaults (no HOOKLINE_* set)"),
    ]
    if uses_postgres(options):
        lines.append(describe(options.postgres_url))
    return lines


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _filesystem(path: Path) -> str:
    """The filesystem type holding a path (a tmpfs would make fsync free and the figures meaningless)."""
    best, kind = "", "unknown"
    with suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            mount, fs_type = line.split()[1:3]
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fs_type
    return kind
