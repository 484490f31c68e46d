"""Running wrk against a target and reading the figures it prints."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _requests import REQUESTS
from _scenarios import CONNECTIONS, BenchError

__all__ = ["CONNECTIONS", "Target", "WrkResult", "parse_wrk", "run_wrk", "write_lua"]


@dataclass(slots=True)
class WrkResult:
    """What one wrk run reported."""

    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


@dataclass(frozen=True, slots=True)
class Target:
    """What one run loads: the URL (of the first server), the wrk script, threads and CPUs, and who serves.

    `database` names the PostgreSQL database of the run (its processes count as the run's own);
    `connections` is wrk's `-c` (at least one per thread).
    """

    url: str
    script: Path
    threads: int
    client_cpus: str
    server_pids: tuple[int, ...]
    database: str | None = None
    connections: int = CONNECTIONS


def write_lua(folder: Path, request: str, ports: Sequence[int] = ()) -> Path:
    """A wrk script posting the named request of `_requests.REQUESTS` (body, content type, headers).

    With several `ports` (several servers), wrk's thread i sends to server i: run it with one
    thread per port, so the connections are split evenly and one report covers them all.
    """
    sent = REQUESTS[request]
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = '{sent.body.decode()}'",
        f'wrk.headers["Content-Type"] = "{sent.content_type}"',
        *(f'wrk.headers["{name}"] = "{value}"' for name, value in sent.headers),
    ]
    if len(ports) > 1:
        lines += [
            f"local ports = {{{', '.join(str(port) for port in ports)}}}",
            "local next_server = 0",
            "function setup(thread)",
            '  thread.addr = wrk.lookup("127.0.0.1", tostring(ports[next_server % #ports + 1]))[1]',
            "  next_server = next_server + 1",
            "end",
        ]
    suffix = "-".join(str(port) for port in ports) if len(ports) > 1 else ""
    script = folder / f"post-{request}{suffix and '-' + suffix}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def run_wrk(target: Target, seconds: int) -> WrkResult:
    """Run wrk on the client CPUs and parse what it prints."""
    command = [
        "taskset", "-c", target.client_cpus, "wrk", f"-t{target.threads}", f"-c{target.connections}",
        f"-d{seconds}s", "--latency", "-s", str(target.script), target.url,
    ]  # fmt: skip
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(text: str) -> WrkResult:
    """The figures in wrk's report (with --latency)."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if rate is None or total is None:
        raise BenchError(f"cannot read wrk's report:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkResult(
        requests=int(total.group(1)),
        requests_per_s=float(rate.group(1)),
        p50_ms=_percentile_ms(text, "50"),
        p99_ms=_percentile_ms(text, "99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def _percentile_ms(text: str, percent: str) -> float:
    found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    if found is None:
        raise BenchError(f"wrk's report has no {percent}% latency (was --latency passed?):\n{text}")
    return float(found.group(1)) * _UNITS_MS[found.group(2)]
