"""The benchmark's scenarios, its command-line choices, and how a scenario's servers start and stop."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"


PLACEMENT_VARIABLES = frozenset(
    {"HOOKLINE_DATABASE_URL", "HOOKLINE_DATA_DIR", "HOOKLINE_HOST", "HOOKLINE_PORT", "HOOKLINE_PUBLIC_URL"}
)
"""Where hookline keeps data and listens: the benchmark chooses these, whatever the environment says."""


CONNECTIONS = 32
"""wrk's connections (one thread per server) unless a scenario says otherwise."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One server set-up to load, and what its figures are compared with.

    A PostgreSQL scenario names its SQLite `baseline` and, when the issue sets one, the share of the
    baseline's throughput in the same run it must reach (`baseline_target`).
    """

    name: str
    title: str
    key: str
    example: str | None
    request: str
    """The name of the request it posts, in `_requests.REQUESTS`."""
    postgres: bool = False
    processes: int = 1
    baseline: str | None = None
    baseline_target: float | None = None
    reference_app: str = "bare_app"
    """For a scenario without an example: the module under bench/ that serves it."""
    cpu_baseline: str | None = None
    """A scenario whose CPU per request this one must stay within CPU_TARGET of, in the same run."""
    receiver: bool = False
    """Its workflow posts to scripts/receiver.py: the run starts one, answering at once."""
    connections: int = CONNECTIONS
    """wrk's connections (`-c`); with one, wrk also runs one thread."""
    node_red_path: str | None = None
    """A Node-RED scenario: the path it posts to (the flows of ../shared/bench-node-red/)."""
    sustained: bool = False
    """Searched at fixed offered rates (bench/_sustained.py) instead of loaded with wrk."""

    @property
    def queued(self) -> bool:
        """Whether requests queue executions, so the run also watches the queue drain."""
        return self.key in (ASYNC_KEY, FORWARD_KEY) or self.node_red_path == NODE_RED_ASYNC_PATH

    @property
    def hookline(self) -> bool:
        """Whether `hookline serve` is what it loads (not a reference app nor Node-RED)."""
        return self.example is not None


SYNC_KEY, SYNC_EXAMPLE = "orders-paid", "order-paid.json"
ASYNC_KEY, ASYNC_EXAMPLE = "orders-paid-async", "order-paid-async.json"
SIGNED_KEY, SIGNED_EXAMPLE = "orders-paid-github", "order-paid-github.json"
FORWARD_KEY, FORWARD_EXAMPLE = "orders-forward", "order-forward.json"
NODE_RED_SYNC_PATH, NODE_RED_ASYNC_PATH = "/hook", "/hook-async"
PG_ASYNC_TARGET = 0.8
"""Issue 4: PostgreSQL async acceptance with one process at ≥ 0.8 of SQLite's in the same run."""
CPU_TARGET = 1.10
"""Issue 12: a signed or form request costs at most 10 % more server CPU than its baseline's (sync)."""

SCENARIOS = {
    "bare": Scenario("bare", "bare Starlette endpoint", "bench", None, "json"),
    "floor": Scenario(
        "floor", "bare + one committed SQLite row", "bench", None, "json", reference_app="floor_app"
    ),
    "floor-1": Scenario(
        "floor-1", "bare + one committed SQLite row, one connection", "bench", None, "json",
        reference_app="floor_app", connections=1,
    ),
    "sync": Scenario("sync", "hookline sync (order-paid)", SYNC_KEY, SYNC_EXAMPLE, "json-basic"),
    "sync-1": Scenario(
        "sync-1", "hookline sync, one connection", SYNC_KEY, SYNC_EXAMPLE, "json-basic", connections=1
    ),
    "async": Scenario("async", "hookline async acceptance", ASYNC_KEY, ASYNC_EXAMPLE, "json"),
    "node-red-sync": Scenario(
        "node-red-sync", "Node-RED sync (POST /hook)", "", None, "json", node_red_path=NODE_RED_SYNC_PATH
    ),
    "node-red-sync-1": Scenario(
        "node-red-sync-1", "Node-RED sync, one connection", "", None, "json",
        node_red_path=NODE_RED_SYNC_PATH, connections=1,
    ),
    "node-red-async": Scenario(
        "node-red-async", "Node-RED async (POST /hook-async)", "", None, "json",
        node_red_path=NODE_RED_ASYNC_PATH,
    ),
    "sustained": Scenario(
        "sustained", "hookline async at a sustained fixed rate", ASYNC_KEY, ASYNC_EXAMPLE, "json",
        sustained=True,
    ),
    "sustained-2": Scenario(
        "sustained-2", "hookline async at a sustained fixed rate, serve --processes 2", ASYNC_KEY,
        ASYNC_EXAMPLE, "json", processes=2, sustained=True,
    ),
    "order-forward": Scenario(
        "order-forward", "hookline async order-forward (loop, requests, delay)", FORWARD_KEY,
        FORWARD_EXAMPLE, "order", receiver=True,
    ),
    "signed": Scenario(
        "signed", "hookline sync, GitHub-signed", SIGNED_KEY, SIGNED_EXAMPLE, "json-github",
        cpu_baseline="sync",
    ),
    "form": Scenario(
        "form", "hookline sync, form body", SYNC_KEY, SYNC_EXAMPLE, "form-basic", cpu_baseline="sync"
    ),
    "pg-sync": Scenario(
        "pg-sync", "hookline sync, PostgreSQL", SYNC_KEY, SYNC_EXAMPLE, "json-basic", postgres=True,
        baseline="sync",
    ),
    "pg-async": Scenario(
        "pg-async", "hookline async acceptance, PostgreSQL", ASYNC_KEY, ASYNC_EXAMPLE, "json",
        postgres=True, baseline="async", baseline_target=PG_ASYNC_TARGET,
    ),
    "pg-async-2": Scenario(
        "pg-async-2", "hookline async acceptance, PostgreSQL, 2 processes", ASYNC_KEY, ASYNC_EXAMPLE,
        "json", postgres=True, processes=2, baseline="async",
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Comparison:
    """An issue 14 target: a hookline scenario's figure against Node-RED's in the same run.

    `figure` is "requests_per_s" (hookline's must be at least `factor` times Node-RED's) or a
    latency, "p50_ms" or "p99_ms" (hookline's must be at most `factor` times Node-RED's).
    """

    scenario: str
    reference: str
    figure: str
    factor: float


NODE_RED_TARGETS = (
    Comparison("sync", "node-red-sync", "requests_per_s", 1.0),
    Comparison("sync", "node-red-sync", "p99_ms", 1.0),
    Comparison("async", "node-red-async", "requests_per_s", 1.0),
    Comparison("async", "node-red-async", "p99_ms", 1.0),
    Comparison("sync-1", "node-red-sync-1", "p50_ms", 2.0),
)
"""Issue 14, targets 3 and 4 (sync and async acceptance at 32 connections, one connection's p50)."""
SUSTAINED_TARGET = 0.6
"""Issue 14, target 1: the sustained async rate ≥ 0.6 × Node-RED's async rate in the same run."""
PROCESSES_TARGET = 1.6
"""Issue 14, target 5: `serve --processes 2` sustains ≥ 1.6 × one process's rate (2 cores)."""
RSS_TARGET_MB = 150.0
"""Issue 14, target 6: the peak RSS of every hookline server process."""


@dataclass(frozen=True, slots=True)
class Options:
    """The command-line choices."""

    scenarios: tuple[str, ...]
    seconds: int
    warmup: int
    repeat: int
    server_cpu: int
    client_cpu: int
    drain_timeout: float
    retries: int
    json_path: Path | None
    postgres_url: str
    sustained_seconds: int = 60
    """The length of the `sustained` scenarios' confirmation run (the search's runs are shorter)."""
    sustained_rate: float | None = None
    """Where the `sustained` search starts (requests/s); None: from a short probe of the drain rate."""


class BenchError(Exception):
    """The benchmark cannot run here (missing tool, server that does not start)."""


def uses_postgres(options: Options) -> bool:
    """Whether any chosen scenario runs on PostgreSQL."""
    return any(SCENARIOS[name].postgres for name in options.scenarios)


def server_cpus(options: Options, processes: int) -> list[str]:
    """The CPUs each server process may use (`taskset -c` syntax).

    One server has the server CPU to itself. Several servers are left to the kernel on both CPUs,
    like wrk then: pinned one per CPU, the server sharing wrk's CPU starved the other one's wrk
    thread (bare endpoints: 17.5k req/s pinned, 26.9k unpinned).
    """
    if processes == 1:
        return [str(options.server_cpu)]
    return [both_cpus(options)] * processes


def both_cpus(options: Options) -> str:
    """The server and client CPUs together, for what the kernel places (`taskset -c` syntax)."""
    return f"{options.server_cpu},{options.client_cpu}"


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = _free_port()
        if port not in ports:
            ports.append(port)
    return ports


@contextmanager
def running_server(
    command: list[str], env: dict[str, str], port: int, log: Path, ready: str = "/healthz"
) -> Iterator[int]:
    """Start a server process, wait until it answers `ready` (a path), give its pid, and stop it on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, port, log, ready)
        yield process.pid
    finally:
        _stop(process)


def _wait_ready(
    process: subprocess.Popen[bytes], port: int, log: Path, path: str, timeout: float = 30.0
) -> None:
    """Poll GET `path` until it answers 200; fail with the server's log when it exits or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited with code {process.returncode}:\n{_tail(log)}")
        with suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return
            finally:
                connection.close()
        time.sleep(0.05)
    raise BenchError(f"the server did not answer {path} within {timeout:.0f} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to stop (SIGINT, like Ctrl-C), and kill it if it does not within 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def bare_command(port: int, module: str = "bare_app") -> list[str]:
    """uvicorn serving a reference app of bench/ (bare_app.py) with the settings `hookline serve` uses."""
    return [
        sys.executable, "-m", "uvicorn", f"{module}:app", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--workers", "1", "--log-level", "warning",
    ]  # fmt: skip


UNBOUNDED_QUEUE = {"HOOKLINE_QUEUE_LIMIT": "1000000000", "HOOKLINE_QUEUE_LIMIT_TOTAL": "1000000000"}
"""A load test measures how fast the backlog grows and drains: the default queue limits (10,000 per
workflow) would turn its requests into 429s instead. Set either variable to measure with a limit."""


def hookline_env(data_dir: Path, database: str | None = None) -> dict[str, str]:
    """The environment for hookline commands: a fresh SQLite file, or the run's PostgreSQL database URL.

    Tuning variables pass through; the data folder also holds the admin token either way.
    """
    env = {name: value for name, value in os.environ.items() if name not in PLACEMENT_VARIABLES}
    env.update({name: value for name, value in UNBOUNDED_QUEUE.items() if name not in env})
    env["HOOKLINE_DATA_DIR"] = str(data_dir)
    if database is not None:
        env["HOOKLINE_DATABASE_URL"] = database
    return env


def hookline_command(cpus: str, port: int, processes: int = 1) -> list[str]:
    """`hookline serve` pinned to these CPUs (`taskset -c` syntax), with `--processes` when above 1."""
    command = [
        "taskset", "-c", cpus, sys.executable, "-m", "hookline", "serve",
        "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    return [*command, "--processes", str(processes)] if processes > 1 else command


def receiver_command(cpus: str, port: int) -> list[str]:
    """scripts/receiver.py answering every call at once (no failures, no line per request), pinned."""
    receiver = str(ROOT / "scripts" / "receiver.py")
    return ["taskset", "-c", cpus, sys.executable, receiver, "--port", str(port), "--quiet"]


def receiver_env(port: int) -> dict[str, str]:
    """What lets the server post to the receiver: its address, readable and allowed."""
    return {
        "RECEIVER_URL": f"http://127.0.0.1:{port}",
        "HOOKLINE_ENV_ALLOW": "RECEIVER_URL",
        "HOOKLINE_REQUEST_ALLOW": "127.0.0.1",
    }


def tuning_variables() -> dict[str, str]:
    """The HOOKLINE_* variables that reach the servers (such as HOOKLINE_WORKERS), for the report."""
    return {
        name: value
        for name, value in sorted(os.environ.items())
        if name.startswith("HOOKLINE_") and name not in PLACEMENT_VARIABLES
    }


def import_example(env: dict[str, str], example: str) -> None:
    """Import an example workflow into the database with the CLI."""
    _cli(env, "workflow", "import", str(ROOT / "examples" / example))


def migrate(env: dict[str, str]) -> None:
    """Create the schema with the CLI (`hookline serve` migrates an SQLite file, never PostgreSQL)."""
    _cli(env, "migrate")


def _cli(env: dict[str, str], *arguments: str) -> None:
    """Run one hookline CLI command; BenchError with its output when it fails."""
    command = [sys.executable, "-m", "hookline", *arguments]
    done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"hookline {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
