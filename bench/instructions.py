"""Instructions per request on the webhook path, counted by valgrind: a figure that noise cannot move.

On a shared VM the CPU time of the same request varies by a quarter from one run to the next, more
than most changes save. The number of instructions executed barely moves (about 1 % between runs),
so a change's effect shows in one comparison:

    .venv/bin/python bench/instructions.py                       # sync and async
    .venv/bin/python bench/instructions.py --scenario async --requests 4000
    .venv/bin/python bench/instructions.py --scenario bare,floor
    .venv/bin/python bench/instructions.py --scenario sync,signed,form   # what signatures and forms add
    .venv/bin/python bench/instructions.py --scenario async,async+run    # accepting, and running too
    .venv/bin/python bench/instructions.py --scenario async,async+hot    # running with a worker free

Each scenario runs twice under `valgrind --tool=callgrind`: once with the warm-up requests only,
once with `--requests` more. The difference, divided by `--requests`, is what one request costs,
without Python's start-up and the imports. The requests go through the ASGI app in process (as
bench/inprocess.py sends them, 32 callers at once, so the writer commits in batches as under load),
with no workers (`HOOKLINE_WORKERS=0`): it counts the answer, not the background run (with
`HOOKLINE_RUN_BEFORE_ANSWER=1` in the environment, the answer includes the run of an asynchronous
workflow without outside effects, such as the `async` scenario's). A scenario
named `<name>+run` (an asynchronous one) has 32 workers (the default is 128) and waits until they have run
every execution: it counts accepting and running one, and the script prints what running adds when
`<name>` is counted in the same call. Its callers outrun the workers, so most executions wait
queued and are claimed. A scenario named `<name>+hot` has 32 workers and 8 callers that each wait
for their execution to end before the next request: every execution finds a worker free and runs at
once, without the queue, as under a steady load the workers keep up with. Every thread counts (the
event loop and the SQLite writer). valgrind runs everything about 50 times slower: about a minute
per scenario with the defaults. It is installed with apt-get as root when missing.

Instructions are not time: a system call or a cache miss costs far more than its instructions.
Use this for A/B comparisons of code changes, and run.py for what the server does over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from _machine import install_tool
from _requests import REQUESTS
from _scenarios import BenchError
from inprocess import EXAMPLES, REFERENCE_APPS, ROOT, App, _call, _cli, _lifespan, build_app

WARMUP = 300
"""Requests sent in both runs: connections, caches and the writer's statements are warm after these."""
RUN = "+run"
"""The suffix of a scenario whose executions the workers run too (see the module docstring)."""
HOT = "+hot"
"""The suffix of a scenario whose callers wait for their executions to end (see the module docstring)."""
RUNNING = (RUN, HOT)
RUN_WORKERS = "32"
"""The workers of a `+run` scenario: fewer than its 32 callers keep busy, so executions wait queued and
are claimed (with the default 128, most would start at once, which `+hot` counts)."""


def main() -> None:
    """Count each chosen scenario, or (with --count) send the requests of one counted run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenario", default="sync,async", help=f"comma-separated, of {sorted(EXAMPLES)}")
    parser.add_argument("--requests", type=int, default=2000, help="requests counted (beyond the warm-up)")
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)  # the child run under valgrind
    args = parser.parse_args()
    scenarios = args.scenario.split(",")
    if unknown := [name for name in scenarios if _base(name) not in EXAMPLES]:
        parser.error(f"unknown scenario {', '.join(unknown)}")
    if args.count is not None:
        _send(scenarios[0], args.count)
        return
    try:
        if shutil.which("valgrind") is None:
            install_tool("valgrind")
        counted: dict[str, float] = {}
        for name in scenarios:
            few, many = _instructions(name, 0), _instructions(name, args.requests)
            counted[name] = (many - few) / args.requests / 1000
            print(f"{name}: {counted[name]:,.0f}k instructions per request", flush=True)
            accepting = counted.get(_base(name)) if name.endswith(RUNNING) else None
            if accepting is not None:
                running = counted[name] - accepting
                print(f"  running one: {running:,.0f}k, {running / accepting:.2f} x accepting it", flush=True)
    except BenchError as error:
        raise SystemExit(f"error: {error}") from None


def _instructions(scenario: str, requests: int) -> int:
    """Instructions valgrind counted for a run of WARMUP + `requests` requests."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, __file__, "--scenario", scenario, "--count", str(WARMUP + requests),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
    for line in done.stderr.splitlines():
        if "Collected :" in line and done.returncode == 0:
            return int(line.rsplit(":", 1)[1].strip())
    raise BenchError(f"the counted run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")


def _send(scenario: str, count: int) -> None:
    """Start the scenario's app on a fresh database and send `count` requests, 32 at a time."""
    import uvloop

    with tempfile.TemporaryDirectory(prefix="hookline-instructions-") as data:
        # Under valgrind a second holds about 50 times fewer requests, so work done once a second
        # (re-reading the workflow) would weigh 50 times more per request than in a server: the
        # cache keeps the workflow for the whole run instead, and only per-request work is counted.
        mode = scenario[len(_base(scenario)) :]
        scenario = _base(scenario)
        workers = RUN_WORKERS if mode else "0"
        env = {"HOOKLINE_DATA_DIR": data, "HOOKLINE_WORKERS": workers, "HOOKLINE_CACHE_SECONDS": "3600"}
        if scenario not in REFERENCE_APPS:
            _cli(env, "workflow", "import", str(ROOT / "examples" / EXAMPLES[scenario][0]))
        uvloop.run(_load(build_app(scenario, env), scenario, count, mode))


def _base(scenario: str) -> str:
    """The scenario without its `+run` or `+hot` suffix."""
    for suffix in RUNNING:
        scenario = scenario.removesuffix(suffix)
    return scenario


async def _load(app: App, scenario: str, count: int, mode: str = "") -> None:
    """Send `count` of the scenario's requests from 32 callers; fail on any answer but a 2xx.

    `+run`: wait until the workers have run every execution before stopping. `+hot`: 8 callers,
    each waiting for its execution to end before its next request.
    """
    task, inbox, outbox = await _lifespan(app)
    _, key, request = EXAMPLES[scenario]
    workers = app.state.runtime.workers if mode else None  # type: ignore[attr-defined]
    left = count

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            headers: dict[bytes, bytes] = {}
            status = await _call(app, key, REQUESTS[request], headers)
            if not 200 <= status < 300:
                raise SystemExit(f"a request was answered {status}")
            if mode == HOT:
                await _ended(workers, int(headers[b"x-hookline-execution"]))

    try:
        if mode == HOT:
            await workers.drain()  # its first claim has found the queue empty: it runs new ones at once
        await asyncio.gather(*(caller() for _ in range(8 if mode == HOT else 32)))
        if workers is not None:
            await workers.drain()
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def _ended(workers: Any, execution: int) -> None:
    """Wait until this process's workers no longer run the execution (it ran at once: it has ended)."""
    running = workers._running.get(execution)  # a benchmark may look inside
    if running is None:
        raise SystemExit(f"execution {execution} did not run at once: the +hot scenario needs a free worker")
    await asyncio.shield(running)


if __name__ == "__main__":
    main()
