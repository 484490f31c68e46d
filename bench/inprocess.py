"""CPU cost of hookline's webhook path measured in-process: the ASGI app driven without HTTP.

It complements `run.py` (the real figures over HTTP): no sockets, no uvicorn, no load generator,
so the figures are steadier and show the CPU time per request of hookline itself. Pin it to one
CPU to match the server set-up:

    taskset -c 0 .venv/bin/python bench/inprocess.py --scenario sync --seconds 5
    taskset -c 0 .venv/bin/python bench/inprocess.py --scenario async --workers 0
    taskset -c 0 .venv/bin/python bench/inprocess.py --scenario sync --profile /tmp/sync.txt
    taskset -c 0 .venv/bin/python bench/inprocess.py --scenario async --workers 0 --postgres

With `--postgres` hookline runs on a fresh PostgreSQL database (created on the server of
--postgres-url, dropped afterwards) instead of an SQLite file; PostgreSQL's own CPU is then
spent in other processes, on any core, and is not counted here.

`--callers` concurrent callers (32, as wrk's connections) each post the benchmark body in a loop.
It prints requests/s, CPU µs per request (in total and per thread: the event loop and the SQLite
writer thread, with their system time), p50/p99 latency in ms, writes per transaction, and for
`async` the executions the workers resolved meanwhile. `bare` is bench/bare_app.py, for scale, and
`floor` is bench/floor_app.py (bare plus one committed SQLite row per request).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _postgres import DEFAULT_ADMIN_URL, database_url, fresh_database
from _requests import REQUESTS, BenchRequest
from _scenarios import PLACEMENT_VARIABLES, UNBOUNDED_QUEUE

from hookline.api.app import create_app
from hookline.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {
    "bare": ("", "bench", "json"),
    "floor": ("", "bench", "json"),
    "sync": ("order-paid.json", "orders-paid", "json-basic"),
    "async": ("order-paid-async.json", "orders-paid-async", "json"),
    "signed": ("order-paid-github.json", "orders-paid-github", "json-github"),
    "form": ("order-paid.json", "orders-paid", "form-basic"),
}
"""Each scenario's example workflow, its webhook key and the request it posts (bench/_requests.py)."""

REFERENCE_APPS = frozenset({"bare", "floor"})
"""The scenarios served by an app of bench/ (bare_app.py, floor_app.py) rather than by hookline."""

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]


def _thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each thread of this process, by thread name."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {thread.native_id: thread.name.split("_")[0] for thread in threading.enumerate()}
    used: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name), "other")
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        used[name + "(sys)"] = used.get(name + "(sys)", 0.0) + int(fields[12]) / tick
    return used


def _scope(key: str, request: BenchRequest) -> Message:
    """The ASGI scope of one benchmark request to a webhook key."""
    path = f"/api/webhook:trigger/{key}"
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", request.content_type.encode()),
            (b"content-length", str(len(request.body)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in request.headers),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: App, key: str, request: BenchRequest, headers: dict[bytes, bytes] | None = None) -> int:
    """One request through the ASGI app; its status (its answer's headers go into `headers`, when given)."""
    status = 0
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await asyncio.Event().wait()  # a disconnect never comes
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            if headers is not None:
                headers.update(message["headers"])

    await app(_scope(key, request), receive, send)
    return status


async def _caller(app: App, scenario: str, until: float, latencies: list[float], failures: list[int]) -> None:
    """Post the scenario's requests one after the other until `until`, recording latencies and non-2xx."""
    _, key, request = EXAMPLES[scenario]
    while (start := time.perf_counter()) < until:
        status = await _call(app, key, REQUESTS[request])
        latencies.append(time.perf_counter() - start)
        if not 200 <= status < 300:
            failures.append(status)


async def _resolved(runtime: Any) -> int:
    """How many executions are resolved so far."""
    if runtime is None:
        return 0
    counts = await runtime.store.count_executions_by_status()
    return sum(n for (_, status), n in counts.items() if status == "resolved")


async def _lifespan(app: App) -> tuple[asyncio.Task[None], asyncio.Queue[Message], asyncio.Queue[Message]]:
    """Start the app's lifespan; its task and the queues to shut it down with."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task: asyncio.Task[None] = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    message = await outbox.get()
    if message["type"] != "lifespan.startup.complete":
        raise SystemExit(f"start-up failed: {message}")
    return task, inbox, outbox


def build_app(scenario: str, env: dict[str, str]) -> App:
    """The scenario's ASGI app: hookline with the settings of `env`, or a reference app of bench/.

    Tuning variables of the calling environment (`HOOKLINE_RUN_BEFORE_ANSWER=1`, say) reach hookline
    as they reach run.py's servers; `env` wins over them. A reference app keeps its SQLite file (the
    floor's) in the data folder `env` names.
    """
    if scenario not in REFERENCE_APPS:
        tuning = {
            name: value
            for name, value in os.environ.items()
            if name.startswith("HOOKLINE_") and name not in PLACEMENT_VARIABLES
        }
        return create_app(Settings.from_env({**UNBOUNDED_QUEUE, **tuning, **env}))
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ["HOOKLINE_FLOOR_DB"] = str(Path(env["HOOKLINE_DATA_DIR"]) / "floor.db")
    app: App = importlib.import_module(f"{scenario}_app").app
    return app


async def measure(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Start the app, warm up, load it, print the figures."""
    app = build_app(args.scenario, {**env, "HOOKLINE_WORKERS": str(args.workers)})
    task, inbox, outbox = await _lifespan(app)
    runtime = getattr(app.state, "runtime", None)  # type: ignore[attr-defined]
    try:
        warm: list[float] = []
        warm_until = time.perf_counter() + args.warmup
        await asyncio.gather(
            *(_caller(app, args.scenario, warm_until, warm, []) for _ in range(args.callers))
        )
        latencies: list[float] = []
        failures: list[int] = []
        resolved = await _resolved(runtime)
        writer = runtime.store.writer if runtime is not None else None
        transactions = writer.transactions if writer is not None else 0
        profile = cProfile.Profile() if args.profile else None
        threads = _thread_cpu()
        cpu, start = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        until = start + args.seconds
        await asyncio.gather(
            *(_caller(app, args.scenario, until, latencies, failures) for _ in range(args.callers))
        )
        if profile is not None:
            profile.disable()
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        threads = {name: t - threads.get(name, 0.0) for name, t in _thread_cpu().items()}
        transactions = writer.transactions - transactions if writer is not None else 0
        resolved = await _resolved(runtime) - resolved
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task
    count = len(latencies)
    latencies.sort()
    print(
        f"{args.scenario}: {count / elapsed:,.0f} req/s  CPU {1e6 * used / count:.0f} µs/req  "
        f"p50 {1000 * statistics.median(latencies):.2f} ms  "
        f"p99 {1000 * latencies[int(0.99 * count)]:.2f} ms  "
        f"non-2xx {len(failures)}  writes/transaction {count / max(transactions, 1):.1f}"
    )
    if args.scenario == "async":
        print(f"  resolved by the workers meanwhile: {resolved / elapsed:,.0f}/s")
    by_thread = sorted(threads.items(), key=lambda item: -item[1])
    print(
        "  CPU µs/req by thread: " + ", ".join(f"{name} {1e6 * t / count:.0f}" for name, t in by_thread if t)
    )
    if profile is not None:
        _write_profile(profile, Path(args.profile))


def _write_profile(profile: cProfile.Profile, path: Path) -> None:
    """The profile by own time, then by cumulative time."""
    with path.open("w") as out:
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(60)
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(80)


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenario", choices=sorted(EXAMPLES), default="sync")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--workers", type=int, default=8, help="HOOKLINE_WORKERS for the async scenario")
    parser.add_argument("--profile", help="write a cProfile report here")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval, in seconds")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database, not SQLite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("HOOKLINE_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL),
        help="where --postgres creates its database (as in run.py)",
    )
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    with ExitStack() as stack:
        data = stack.enter_context(tempfile.TemporaryDirectory(prefix="hookline-inprocess-"))
        env = {"HOOKLINE_DATA_DIR": data}
        if args.postgres:
            name = stack.enter_context(fresh_database(args.postgres_url))
            env["HOOKLINE_DATABASE_URL"] = database_url(args.postgres_url, name)
            _cli(env, "migrate")
        if args.scenario not in REFERENCE_APPS:
            _cli(env, "workflow", "import", str(ROOT / "examples" / EXAMPLES[args.scenario][0]))
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(measure(args, env))
        else:
            asyncio.run(measure(args, env))


def _cli(env: dict[str, str], *arguments: str) -> None:
    """Run one hookline CLI command on the benchmark's database."""
    command = [sys.executable, "-m", "hookline", *arguments]
    subprocess.run(command, env={**os.environ, **env}, check=True, capture_output=True)


if __name__ == "__main__":
    main()
