"""One measured run of a scenario: start its servers, load them with wrk, account the CPU and the queue."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from _backlog import Backlog, count_statuses, watch_drain
from _cpu import NOISY_CPU_PCT, cpu_times, cpu_use, wait_for_quiet
from _postgres import database_url, fresh_database
from _scenarios import (
    SCENARIOS,
    Options,
    Scenario,
    bare_command,
    both_cpus,
    free_ports,
    hookline_command,
    hookline_env,
    import_example,
    migrate,
    receiver_command,
    receiver_env,
    running_server,
    server_cpus,
)
from _wrk import Target, WrkResult, run_wrk, write_lua


@dataclass(slots=True)
class Run:
    """One measured run of one scenario; `other_cpu_pct` is the machine's CPU used by anyone else.

    `server_cpu_pct` is what the hookline (or bare) server processes used together and
    `database_cpu_pct` what PostgreSQL used for the run, both in % of one core.
    """

    scenario: str
    wrk: WrkResult
    other_cpu_pct: float
    server_cpu_pct: float = 0.0
    database_cpu_pct: float = 0.0
    backlog: Backlog | None = None


def measure(options: Options, scenario: Scenario, workdir: Path) -> Run:
    """Start the scenario's servers on fresh ports (and a fresh database), warm them up, measure."""
    ports = free_ports(scenario.processes)
    url = f"http://127.0.0.1:{ports[0]}/api/webhook:trigger/{scenario.key}"
    script = write_lua(workdir, scenario.request, ports)
    cpus = server_cpus(options, scenario.processes)
    if scenario.example is None:
        command = ["taskset", "-c", cpus[0], *bare_command(ports[0], scenario.reference_app)]
        log = workdir / f"{scenario.name}.log"
        env = {**os.environ, "HOOKLINE_FLOOR_DB": str(workdir / f"floor-{ports[0]}.db")}
        with running_server(command, env, ports[0], log) as pid:
            return _load(options, scenario, Target(url, script, 1, str(options.client_cpu), (pid,)))
    with ExitStack() as stack:
        data = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=f"hookline-bench-{scenario.name}-"))
        )
        name = stack.enter_context(fresh_database(options.postgres_url)) if scenario.postgres else None
        database = database_url(options.postgres_url, name) if name else f"sqlite:///{data}/hookline.db"
        env = hookline_env(data, database if name else None)
        if name:
            migrate(env)
        import_example(env, scenario.example)
        helpers: tuple[int, ...] = ()
        if scenario.receiver:
            # On the client's CPU, with wrk; its CPU counts with the servers' (it is not "other CPU").
            port = next(free for free in free_ports(len(ports) + 1) if free not in ports)
            command = receiver_command(str(options.client_cpu), port)
            log = data / "receiver.log"
            helpers = (stack.enter_context(running_server(command, env, port, log, ready="/stats")),)
            env.update(receiver_env(port))
        pids = helpers + tuple(
            stack.enter_context(
                running_server(hookline_command(cpu, port), env, port, data / f"server-{port}.log")
            )
            for cpu, port in zip(cpus, ports, strict=True)
        )
        client = str(options.client_cpu) if len(ports) == 1 else both_cpus(options)
        target = Target(url, script, len(ports), client, pids, name)
        if not scenario.queued:
            return _load(options, scenario, target)
        return _measure_queue(options, scenario, target, database)


def _load(options: Options, scenario: Scenario, target: Target) -> Run:
    """The warm-up (discarded), then the measured run and the CPU used meanwhile."""
    if options.warmup:
        run_wrk(target, options.warmup)
    before = cpu_times(target.server_pids, target.database)
    result = run_wrk(target, options.seconds)
    use = cpu_use(before, cpu_times(target.server_pids, target.database))
    return Run(scenario.name, result, use.other_pct, use.server_pct, use.database_pct)


def _measure_queue(options: Options, scenario: Scenario, target: Target, database: str) -> Run:
    """An async scenario: the load, then the backlog it left and how long it took to drain."""
    if options.warmup:
        run_wrk(target, options.warmup)
    before = asyncio.run(count_statuses(database))
    cpu_before = cpu_times(target.server_pids, target.database)
    result = run_wrk(target, options.seconds)
    load_ended = time.monotonic()
    use = cpu_use(cpu_before, cpu_times(target.server_pids, target.database))
    backlog = asyncio.run(watch_drain(database, load_ended, before, options.drain_timeout))
    return Run(scenario.name, result, use.other_pct, use.server_pct, use.database_pct, backlog)


def run_all(options: Options) -> dict[str, list[Run]]:
    """Every chosen scenario `repeat` times, in turn, so slow drifts of the machine hit all alike."""
    runs: dict[str, list[Run]] = {name: [] for name in options.scenarios}
    with tempfile.TemporaryDirectory(prefix="hookline-bench-") as work:
        for number in range(1, options.repeat + 1):
            for name in options.scenarios:
                runs[name].append(_quiet_run(options, SCENARIOS[name], Path(work), number))
    return runs


def _quiet_run(options: Options, scenario: Scenario, workdir: Path, number: int) -> Run:
    """Measure once; while other processes took more than NOISY_CPU_PCT, measure again (a few times)."""
    attempts: list[Run] = []
    for _ in range(options.retries + 1):
        wait_for_quiet()
        attempts.append(measure(options, scenario, workdir))
        _print_run(attempts[-1], number, options.repeat)
        if attempts[-1].other_cpu_pct <= NOISY_CPU_PCT:
            break
    kept = min(attempts, key=lambda r: r.other_cpu_pct)
    if len(attempts) > 1:
        print(f"      kept attempt {attempts.index(kept) + 1} of {len(attempts)} (the quietest)", flush=True)
    return kept


def _print_run(run: Run, number: int, repeat: int) -> None:
    w = run.wrk
    database = f"  PostgreSQL CPU {run.database_cpu_pct:.0f}%" if run.scenario.startswith("pg-") else ""
    line = (
        f"{run.scenario:10} run {number}/{repeat}: {w.requests_per_s:>9,.0f} req/s  p50 {w.p50_ms:6.2f} ms  "
        f"p99 {w.p99_ms:6.2f} ms  non-2xx {w.non_2xx}  socket errors {w.socket_errors}  "
        f"server CPU {run.server_cpu_pct:.0f}%{database}  other CPU {run.other_cpu_pct:.1f}%"
    )
    if run.other_cpu_pct > NOISY_CPU_PCT:
        line += "  (noisy: other processes used the CPU)"
    if run.backlog is not None:
        b = run.backlog
        drain = "not drained" if b.drain_seconds is None else f"drained in {b.drain_seconds:.1f} s"
        line += (
            f"\n      queue: {b.resolved_during_load:,} resolved during load, "
            f"{b.pending_at_end:,} left; {drain}"
        )
    print(line, flush=True)
