"""Load benchmark of hookline's webhook route against Node-RED (and a bare endpoint); prints figures.

Run it from the repository root (as root on Debian, `wrk` is installed with apt-get when missing):

    .venv/bin/python bench/run.py                          # bare, floor, sync, async: 2 s warm-up + 10 s each
    .venv/bin/python bench/run.py --seconds 10 --repeat 3  # what docs/benchmarks.md reports (medians)
    .venv/bin/python bench/run.py --quick                  # 3 s smoke run
    .venv/bin/python bench/run.py --only bare,sync --json bench/results/run.json
    .venv/bin/python bench/run.py --only async,pg-async,pg-async-2   # PostgreSQL next to SQLite
    .venv/bin/python bench/run.py --only node-red-sync,sync,node-red-async,async,sync-1,node-red-sync-1
    .venv/bin/python bench/run.py --only node-red-async,sustained,sustained-2 --sustained-seconds 60

Every server runs alone on CPU 0 (`taskset -c 0`, one uvicorn worker, uvloop + httptools, no access
log); `wrk -t1 -c32 --latency` drives it from CPU 1, posting `{"order": {"id": 42, "status": "paid"}}`
(as JSON, or as a form; each scenario's request is in bench/_requests.py).
This script pins itself to CPU 1 too, so its database polling does not steal the server's core.

hookline runs with its defaults; HOOKLINE_* tuning variables in the environment (HOOKLINE_WORKERS,
HOOKLINE_POLL_SECONDS, …) reach it and are printed, but the database and the address are always the
benchmark's own.

Scenarios (each one a fresh server, and for hookline a fresh database: an SQLite file in a temp folder,
or a uniquely named PostgreSQL database created for the run and dropped after it):
  bare        bench/bare_app.py: parse the JSON body, answer a small JSON — the ceiling.
  floor       bench/floor_app.py: bare plus one row committed to an SQLite file before the answer
              (WAL, synchronous=FULL, grouped commits) — the least a durable endpoint can do.
  floor-1     floor over one connection: the fsync'd floor under sync-1.
  sync        `hookline serve` with examples/order-paid.json imported by the CLI (Basic auth, a
              condition, a Response node, the execution and its jobs committed before the answer).
  async       `hookline serve` with examples/order-paid-async.json: the answer (202) comes once the
              queued execution is committed; the workers run the queue on the same CPU meanwhile.
              After the load stops the script watches the database until nothing is queued or
              started (the drain time).
  order-forward
              `hookline serve` with examples/order-forward.json, posting to scripts/receiver.py
              (started on the client CPU, answering 200 at once): per order a calculation, a
              json-query, a loop of three requests, a 2 s delay and a summary request. Measured
              like async; its figure is the executions completed per second (the queue table).
  signed      sync with examples/order-paid-github.json: a GitHub-style `X-Hub-Signature-256` HMAC
              of the body is checked instead of Basic credentials.
  form        sync, the same order posted as a form (`order[id]=42&order[status]=paid`).
              signed and form must cost at most 10 % more server CPU per request than sync
              in the same run (run them together: --only sync,signed,form).
  pg-sync     sync on PostgreSQL (HOOKLINE_DATABASE_URL).
  pg-async    async on PostgreSQL, one `hookline serve`.
  pg-async-2  async on PostgreSQL, two `hookline serve` processes; one wrk with a thread per server
              (16 connections each) reports their total. The servers and wrk are not pinned here:
              the kernel places them on both CPUs.
  sync-1      sync over one connection (`wrk -t1 -c1`): one request at a time, where p50 matters.
  node-red-sync, node-red-async, node-red-sync-1
              the reference engine: Node-RED started with ../shared/bench-node-red/start.sh on the
              server CPU (port NODE_RED_PORT chosen free, NODE_RED_DIR respected), posting the same
              order without credentials to POST /hook (a switch, a function, the answer) or POST
              /hook-async (answers at once, runs the same check afterwards: GET /bg-count, read
              before and after the load, says how many runs finished during it). Skipped with one
              line saying how to install it when ../shared/bench-node-red/install.sh has not run.
  sustained   async at a fixed offered rate (bench/_fixed_rate.py, Debian has no wrk2) with the queue
              depth (queued + started + waiting) read every second: the highest rate whose queue stays
              flat (depth at the end ≤ depth at 10 s + 2 % of one second's requests, at least 100)
              with every request answered 2xx, on schedule. Searched from --sustained-rate or from the
              drain rate of a 5 s async probe, with short trials (a third of --sustained-seconds, 4 to
              10 s), then confirmed by a --sustained-seconds trial (default --seconds; issue 14 says
              60), 8 % lower while that is not sustained (four at most).
              Run once whatever --repeat says. See bench/_sustained.py.
  sustained-2 sustained with `hookline serve --processes 2`, unpinned on both CPUs with its load
              generator; its search starts at 1.6 x sustained's rate.
PostgreSQL is the machine's own server (--postgres-url, default $HOOKLINE_BENCH_POSTGRES_URL or
postgresql://postgres@127.0.0.1:5432/postgres, where the bench databases are created). It is not
pinned: its backends compete with the server and wrk for both CPUs, and their CPU is reported.

For each scenario it prints requests/s, p50 and p99 latency, non-2xx answers, the ratio to the bare
endpoint (information only: issue 14 retired those targets), and PASS/FAIL for p99 < 20 ms and no
non-2xx answer. Issue 14's targets come first, each PASS/FAIL against the scenario of the same run, or
"n/a (node-red not run)": sync ≥ 1.0 x node-red-sync req/s and p99 ≤ its p99; async ≥ 1.0 x
node-red-async req/s and p99 ≤ its p99; sync-1 p50 ≤ 2 x node-red-sync-1's; sustained ≥ 0.6 x
node-red-async req/s; sustained-2 ≥ 1.6 x sustained; the peak RSS (VmHWM, read just before the
servers stop) of every hookline server process ≤ 150 MB. Then the ratio of each PostgreSQL scenario
to its SQLite one (target: pg-async ≥ 0.8 of async), signed and form CPU against sync, the CPU and
peak RSS of the servers (Node-RED's too), the async queues, the sustained searches with the queue
depth over time, as Markdown tables ready to paste. With --repeat N the wrk scenarios are run in turn
N times and the medians reported.

The machine must be otherwise idle. Each run reports the CPU that other processes used meanwhile
("other CPU", in % of all cores; PostgreSQL's processes count as the run's own during a PostgreSQL
scenario: its backends on the bench database and the server-wide writers); above 5 % the run is
measured again (--retries, default 2) and the quietest attempt kept (a sustained trial too). It exits
0 whatever the figures; 2 when it cannot run (nothing left to run once Node-RED's are skipped, too).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from _machine import ensure_tools, machine_lines
from _measure import run_all
from _node_red import version
from _postgres import DEFAULT_ADMIN_URL, PostgresError
from _report import report
from _scenarios import SCENARIOS, BenchError, Options, both_cpus
from _wrk import CONNECTIONS


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line into Options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each run (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario; medians are reported")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s, 1 s warm-up, one repetition")
    parser.add_argument("--only", default="bare,floor,sync,async", help="comma-separated scenarios to run")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the server is pinned to")
    parser.add_argument("--client-cpu", type=int, default=1, help="CPU wrk (and this script) run on")
    parser.add_argument(
        "--drain-timeout", type=float, default=300.0, help="max seconds to wait for the queue"
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="re-measurements of a run others disturbed (default 2)"
    )
    parser.add_argument("--json", dest="json_path", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--sustained-seconds",
        type=int,
        help="length of the sustained scenarios' confirmation run (default: --seconds; issue 14 says 60)",
    )
    parser.add_argument(
        "--sustained-rate",
        type=float,
        help="rate (requests/s) the sustained search starts from (default: a 5 s async probe's drain rate)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("HOOKLINE_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL server and database where the bench databases are created "
        f"(default $HOOKLINE_BENCH_POSTGRES_URL or {DEFAULT_ADMIN_URL})",
    )
    args = parser.parse_args(argv)
    names = tuple(name.strip() for name in args.only.split(",") if name.strip())
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        parser.error(f"--only takes a comma-separated subset of {','.join(SCENARIOS)}")
    seconds, warmup, repeat = (3, 1, 1) if args.quick else (args.seconds, args.warmup, args.repeat)
    sustained_seconds = args.sustained_seconds or seconds
    if seconds < 1 or warmup < 0 or repeat < 1 or sustained_seconds < 2:
        parser.error("--seconds and --repeat must be at least 1, --warmup at least 0, --sustained-seconds 2")
    if args.sustained_rate is not None and args.sustained_rate <= 0:
        parser.error("--sustained-rate must be above 0")
    return Options(
        names,
        seconds,
        warmup,
        repeat,
        args.server_cpu,
        args.client_cpu,
        args.drain_timeout,
        max(0, args.retries),
        args.json_path,
        args.postgres_url,
        sustained_seconds,
        args.sustained_rate,
    )


def _terminated(signum: int, _frame: object) -> None:
    """On SIGTERM, unwind like Ctrl-C: stop the servers and drop the bench database on the way out."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 once figures are printed, 2 when it cannot run here."""
    options = parse_options(argv)
    # A plain SIGTERM would skip the clean-ups: the servers would keep running, the database stay.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        ensure_tools(options)
        os.sched_setaffinity(0, {options.client_cpu})
        machine = machine_lines(options)
        if any(SCENARIOS[name].node_red_path for name in options.scenarios):
            machine.append(f"reference: {version()}")
        print("\n".join(machine))
        print(
            f"load: wrk -c{CONNECTIONS} --latency (one thread per server), {options.warmup} s warm-up "
            f"+ {options.seconds} s, {options.repeat} run(s) per scenario; one server on CPU "
            f"{options.server_cpu} and wrk on CPU {options.client_cpu}, two servers and their wrk on "
            f"CPUs {both_cpus(options)}\n",
            flush=True,
        )
        report(options, run_all(options), machine)
    except (BenchError, PostgresError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
