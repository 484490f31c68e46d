"""Sustained async rate of `hookline serve --processes N` on one SQLite file, at fixed offered rates.

For each process count and rate: a fresh SQLite file with examples/order-paid-async.json, a server
started with `--processes N` (unpinned: the kernel places the processes on every core), and `hey`
offering exactly RATE requests per second (256 connections, each at RATE/256 per second) for
SECONDS. The queue depth is read from the file every second. A rate is sustained when every
request was accepted and the queue at the end is no longer than at 10 s (200 of slack for the
workers' claims in flight). The summary gives the highest sustained rate of each process count and
its ratio to one process's (issue 14, target 5: >= 1.6 on 2 cores).

    .venv/bin/python bench/processes.py --processes 1,2 --rates 900,1100,1300,1500 --seconds 25

Needs `hey` (Debian: `apt-get install hey`). Tuning variables (HOOKLINE_WORKERS, …) reach the server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOOKLINE = [sys.executable, "-m", "hookline"]
KEY, EXAMPLE = "orders-paid-async", ROOT / "examples" / "order-paid-async.json"
BODY = '{"order": {"id": 42, "status": "paid"}}'
CONNECTIONS = 256
SLACK = 200
"""Queue growth allowed between 10 s and the end: claims in flight, not a backlog."""


@dataclass(frozen=True)
class Run:
    """What one fixed-rate run gave."""

    processes: int
    offered: int
    accepted: float
    refused: int
    p99_ms: float
    finished: float
    queue_at_10: int
    queue_at_end: int
    cpu_us: float
    load: float

    @property
    def sustained(self) -> bool:
        """Every request accepted, and the backlog no longer at the end than at 10 s."""
        return not self.refused and self.queue_at_end <= self.queue_at_10 + SLACK


def main() -> None:
    """Run every (processes, rate) pair and print a line each, then the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2", help="comma-separated process counts")
    parser.add_argument("--rates", default="900,1100,1300,1500", help="comma-separated offered rates")
    parser.add_argument("--seconds", type=int, default=25)
    options = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop the server of the run.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(1))
    if shutil.which("hey") is None:
        sys.exit("bench/processes.py needs `hey` (apt-get install hey); nothing was measured")
    runs = []
    for processes in (int(p) for p in options.processes.split(",")):
        for rate in (int(r) for r in options.rates.split(",")):
            runs.append(measure(processes, rate, options.seconds))
            print(describe(runs[-1]), flush=True)
    best = {
        n: max((r.accepted for r in runs if r.processes == n and r.sustained), default=0.0)
        for n in {r.processes for r in runs}
    }
    for n, rate in sorted(best.items()):
        ratio = f", {rate / best[1]:.2f}x one process" if best.get(1) else ""
        print(f"highest sustained rate, {n} process(es): {rate:,.0f}/s{ratio}")


def measure(processes: int, rate: int, seconds: int) -> Run:
    """One run on a fresh SQLite file."""
    folder = Path(tempfile.mkdtemp(prefix="hookline-processes-"))
    env = {**os.environ, "HOOKLINE_DATA_DIR": str(folder / "data")}
    try:
        subprocess.run(
            [*HOOKLINE, "workflow", "import", str(EXAMPLE)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        port = _free_port()
        with (folder / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [
                    *HOOKLINE,
                    "serve",
                    "--port",
                    str(port),
                    "--processes",
                    str(processes),
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, processes)
            return _load(server.pid, processes, rate, seconds, url, folder / "data" / "hookline.db")
        finally:
            server.terminate()
            server.wait(60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load(parent: int, processes: int, rate: int, seconds: int, url: str, database: Path) -> Run:
    """Offer `rate` requests/s with hey while sampling the queue; the run's figures."""
    command = ["hey", "-z", f"{seconds}s", "-c", str(CONNECTIONS), "-q", f"{rate / CONNECTIONS:.4f}"]
    command += ["-m", "POST", "-T", "application/json", "-d", BODY, f"{url}/api/webhook:trigger/{KEY}"]
    cpu_before = _cpu_seconds(parent)
    started = time.monotonic()
    hey = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    samples: list[tuple[float, int, int]] = []
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        while hey.poll() is None:
            time.sleep(1.0)
            counts = dict(db.execute("SELECT status, count(*) FROM executions GROUP BY status").fetchall())
            samples.append((time.monotonic() - started, counts.get("queued", 0), counts.get("resolved", 0)))
    cpu = _cpu_seconds(parent) - cpu_before
    report = hey.stdout.read() if hey.stdout else ""
    at_5 = min(samples, key=lambda s: abs(s[0] - 5))
    at_10 = min(samples, key=lambda s: abs(s[0] - 10))
    end = samples[-1]
    statuses = {
        int(line.split("]")[0].strip(" [")): int(line.split()[1])
        for line in report.splitlines()
        if line.strip().startswith("[") and "responses" in line
    }
    accepted = statuses.get(202, 0)
    return Run(
        processes=processes,
        offered=rate,
        accepted=accepted / seconds,
        refused=sum(statuses.values()) - accepted,
        p99_ms=_p99(report),
        finished=(end[2] - at_5[2]) / (end[0] - at_5[0]),
        queue_at_10=at_10[1],
        queue_at_end=end[1],
        cpu_us=cpu / max(end[2], 1) * 1e6,
        load=os.getloadavg()[0],
    )


def describe(run: Run) -> str:
    """One line for a run."""
    verdict = "sustained" if run.sustained else "NOT sustained"
    return (
        f"{run.processes} process(es), offered {run.offered:,}/s: accepted {run.accepted:,.0f}/s "
        f"(refused {run.refused}), p99 {run.p99_ms:.0f} ms, finished {run.finished:,.0f}/s, "
        f"queue {run.queue_at_10} at 10 s -> {run.queue_at_end} at end: {verdict}; "
        f"server CPU {run.cpu_us:,.0f} us per finished execution; load average {run.load:.1f}"
    )


def _p99(report: str) -> float:
    """hey's 99th percentile latency in ms (0 when missing)."""
    for line in report.splitlines():
        if line.strip().startswith("99%"):
            return float(line.split()[2]) * 1000
    return 0.0


def _cpu_seconds(parent: int) -> float:
    """CPU seconds used so far by `parent` and its children (the server processes)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == parent or int(fields[1]) == parent:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _wait_ready(url: str, processes: int, within: float = 60.0) -> None:
    """Wait until /healthz answers, then for the other processes' start-up (a spawn takes ~2 s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz").status_code == 200:
                time.sleep(2.0 if processes > 1 else 0.0)
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server at {url} did not become ready in {within} s")


def _free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    main()
