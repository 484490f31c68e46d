"""One measured run of a scenario: start its servers, load them with wrk, account the CPU and the queue."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from _backlog import Backlog, count_statuses, watch_drain
from _cpu import NOISY_CPU_PCT, cpu_times, cpu_use, wait_for_quiet
from _memory import peak_rss_of
from _node_red import (
    READY_PATH,
    finished_runs,
    missing,
    node_red_command,
    node_red_env,
    watch_finished,
)
from _postgres import database_url, fresh_database
from _scenarios import (
    SCENARIOS,
    BenchError,
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
from _sustained import Sustained, search_all
from _wrk import Target, WrkResult, run_wrk, write_lua

Counts = Callable[[], dict[str, int]]
"""What a queued scenario counts before its load: executions by status, or Node-RED's finished runs."""
Watch = Callable[[float, dict[str, int], int], Backlog]
"""What it does after: (load ended at, the counts before, requests accepted) → the backlog."""


@dataclass(slots=True)
class Run:
    """One measured run of one scenario; `other_cpu_pct` is the machine's CPU used by anyone else.

    `server_cpu_pct` is what the hookline (bare, Node-RED) server processes used together and
    `database_cpu_pct` what PostgreSQL used for the run, both in % of one core; `peak_rss_mb` holds
    each server process's peak resident memory (read just before it stopped).
    """

    scenario: str
    wrk: WrkResult
    other_cpu_pct: float
    server_cpu_pct: float = 0.0
    database_cpu_pct: float = 0.0
    backlog: Backlog | None = None
    peak_rss_mb: list[float] = field(default_factory=list)


@dataclass(slots=True)
class Results:
    """Everything one invocation measured: the wrk runs, the sustained searches, what was skipped."""

    runs: dict[str, list[Run]]
    sustained: dict[str, Sustained]
    skipped: dict[str, str]


def measure(options: Options, scenario: Scenario, workdir: Path) -> Run:
    """Start the scenario's servers on fresh ports (and a fresh database), warm them up, measure."""
    if scenario.node_red_path is not None:
        return _measure_node_red(options, scenario, workdir)
    ports = free_ports(scenario.processes)
    url = f"http://127.0.0.1:{ports[0]}/api/webhook:trigger/{scenario.key}"
    script = write_lua(workdir, scenario.request, ports)
    cpus = server_cpus(options, scenario.processes)
    if scenario.example is None:
        command = ["taskset", "-c", cpus[0], *bare_command(ports[0], scenario.reference_app)]
        log = workdir / f"{scenario.name}.log"
        env = {**os.environ, "HOOKLINE_FLOOR_DB": str(workdir / f"floor-{ports[0]}.db")}
        with running_server(command, env, ports[0], log) as pid:
            target = Target(url, script, 1, str(options.client_cpu), (pid,), None, scenario.connections)
            return _with_memory(_load(options, scenario, target), (pid,))
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
        servers = tuple(
            stack.enter_context(
                running_server(hookline_command(cpu, port), env, port, data / f"server-{port}.log")
            )
            for cpu, port in zip(cpus, ports, strict=True)
        )
        client = str(options.client_cpu) if len(ports) == 1 else both_cpus(options)
        target = Target(url, script, len(ports), client, helpers + servers, name, scenario.connections)
        if not scenario.queued:
            return _with_memory(_load(options, scenario, target), servers)

        def counts() -> dict[str, int]:
            return asyncio.run(count_statuses(database))

        def watch(ended: float, before: dict[str, int], _accepted: int) -> Backlog:
            return asyncio.run(watch_drain(database, ended, before, options.drain_timeout))

        return _with_memory(_measure_queue(options, scenario, target, counts, watch), servers)


def _measure_node_red(options: Options, scenario: Scenario, workdir: Path) -> Run:
    """Node-RED with the shared flows on the server CPU, loaded like hookline (its async like async)."""
    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}{scenario.node_red_path}"
    script = write_lua(workdir, scenario.request)
    command = node_red_command(str(options.server_cpu))
    log = workdir / f"{scenario.name}-{port}.log"
    with running_server(command, node_red_env(port), port, log, ready=READY_PATH) as pid:
        target = Target(url, script, 1, str(options.client_cpu), (pid,), None, scenario.connections)
        if not scenario.queued:
            return _with_memory(_load(options, scenario, target), (pid,))

        def watch(ended: float, before: dict[str, int], accepted: int) -> Backlog:
            return watch_finished(port, ended, before, accepted, options.drain_timeout)

        run = _measure_queue(options, scenario, target, lambda: finished_runs(port), watch)
        return _with_memory(run, (pid,))


def _with_memory(run: Run, pids: tuple[int, ...]) -> Run:
    """The run with its servers' peak RSS, read while they still run (their children too)."""
    run.peak_rss_mb = peak_rss_of(pids)
    return run


def _load(options: Options, scenario: Scenario, target: Target) -> Run:
    """The warm-up (discarded), then the measured run and the CPU used meanwhile."""
    if options.warmup:
        run_wrk(target, options.warmup)
    before = cpu_times(target.server_pids, target.database)
    result = run_wrk(target, options.seconds)
    use = cpu_use(before, cpu_times(target.server_pids, target.database))
    return Run(scenario.name, result, use.other_pct, use.server_pct, use.database_pct)


def _measure_queue(options: Options, scenario: Scenario, target: Target, counts: Counts, watch: Watch) -> Run:
    """An async scenario: the load, then the backlog it left and how long it took to drain."""
    if options.warmup:
        run_wrk(target, options.warmup)
    before = counts()
    cpu_before = cpu_times(target.server_pids, target.database)
    result = run_wrk(target, options.seconds)
    load_ended = time.monotonic()
    use = cpu_use(cpu_before, cpu_times(target.server_pids, target.database))
    backlog = watch(load_ended, before, result.requests - result.non_2xx)
    return Run(scenario.name, result, use.other_pct, use.server_pct, use.database_pct, backlog)


def run_all(options: Options) -> Results:
    """Every chosen wrk scenario `repeat` times, in turn, so slow drifts of the machine hit all alike;
    then each chosen sustained scenario once (its search runs many loads already).

    Node-RED scenarios are skipped, with one line saying how to install it, when it is not installed.
    """
    skipped = {name: reason for name in options.scenarios if (reason := _why_skipped(SCENARIOS[name]))}
    for name, reason in skipped.items():
        print(f"{name}: skipped: {reason}", flush=True)
    chosen = [name for name in options.scenarios if name not in skipped]
    if not chosen:
        raise BenchError("every chosen scenario was skipped: nothing to measure")
    loaded = [name for name in chosen if not SCENARIOS[name].sustained]
    runs: dict[str, list[Run]] = {name: [] for name in loaded}
    with tempfile.TemporaryDirectory(prefix="hookline-bench-") as work:
        for number in range(1, options.repeat + 1):
            for name in loaded:
                runs[name].append(_quiet_run(options, SCENARIOS[name], Path(work), number))
        probe = _probe(options, Path(work))
        sustained = search_all(options, [SCENARIOS[n] for n in chosen if SCENARIOS[n].sustained], probe)
    return Results(runs, sustained, skipped)


def _why_skipped(scenario: Scenario) -> str | None:
    """Why a scenario cannot run here (Node-RED not installed), or None."""
    return missing() if scenario.node_red_path is not None else None


def _probe(options: Options, workdir: Path) -> Callable[[], float]:
    """The sustained search's starting point when --sustained-rate is not given: the drain rate
    (executions finished per second once the load stopped) of a 5 s `async` run without warm-up.
    """

    def drain_rate() -> float:
        probe_options = replace(options, seconds=5, warmup=0)
        wait_for_quiet()
        run = measure(probe_options, SCENARIOS["async"], workdir)
        backlog = run.backlog
        assert backlog is not None
        if backlog.drain_seconds:
            rate = backlog.pending_at_end / backlog.drain_seconds
        else:  # drained at once, or not at all: what the load saw finish then
            rate = backlog.resolved_during_load / probe_options.seconds
        print(
            f"sustained probe: 5 s of async at {run.wrk.requests_per_s:,.0f} req/s left "
            f"{backlog.pending_at_end:,} queued, drained at {rate:,.0f}/s",
            flush=True,
        )
        return rate

    return drain_rate


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
    rss = f"  peak RSS {max(run.peak_rss_mb):.0f} MB" if run.peak_rss_mb else ""
    line = (
        f"{run.scenario:10} run {number}/{repeat}: {w.requests_per_s:>9,.0f} req/s  p50 {w.p50_ms:6.2f} ms  "
        f"p99 {w.p99_ms:6.2f} ms  non-2xx {w.non_2xx}  socket errors {w.socket_errors}  "
        f"server CPU {run.server_cpu_pct:.0f}%{database}{rss}  other CPU {run.other_cpu_pct:.1f}%"
    )
    if run.other_cpu_pct > NOISY_CPU_PCT:
        line += "  (noisy: other processes used the CPU)"
    if run.backlog is not None:
        b = run.backlog
        drain = "not drained" if b.drain_seconds is None else f"drained in {b.drain_seconds:.1f} s"
        done = "finished" if SCENARIOS[run.scenario].node_red_path else "resolved"
        line += (
            f"\n      queue: {b.resolved_during_load:,} {done} during the load, "
            f"{b.pending_at_end:,} left; {drain}"
        )
    print(line, flush=True)
