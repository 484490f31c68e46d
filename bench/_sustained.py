"""The `sustained` scenarios: the highest fixed offered rate at which hookline's async queue stays flat.

A trial is a fresh SQLite file with examples/order-paid-async.json, `hookline serve` (pinned to the
server CPU, or `--processes 2` unpinned on both CPUs), and bench/_fixed_rate.py offering RATE
requests per second for SECONDS (on the client CPU, or both for two processes) while this process
reads the queue every second: accepted so far (executions in the file), and the depth (queued,
started and waiting executions, as bench/_backlog.py counts them); finished = accepted - depth.

A trial is *sustained* when every offered request was sent and answered 2xx, on schedule (by the
last sample the server has accepted as many as came due, less those in flight on the connections
and the flatness tolerance below: otherwise requests wait in the generator, not in the server's
queue, which then looks flat while the server accepts less than offered), and the queue is flat:
its depth at the end is at most its depth at the reference time (10 s, or half the trial when
shorter) plus one second's worth of 2 % of the rate (FLAT_SHARE), at least 100. Both depths are the
median of three samples (the last three; the three around the reference time), so one sample caught between
a worker's claim and its finish does not decide. A trial that other processes disturbed (above
NOISY_CPU_PCT of the machine) is run again, up to --retries times. The search starts from a rate
(--sustained-rate, or the drain rate of a short async probe), steps up or down by STEP until a
sustained and an unsustained rate bracket the answer, bisects it for a few rounds with short trials,
then confirms the highest sustained rate with one full-length trial (stepping down by 8 % and
trying again, up to CONFIRMATIONS trials in all, while they fail).
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _backlog import queue_sample
from _cpu import NOISY_CPU_PCT, cpu_times, cpu_use, wait_for_quiet
from _fixed_rate import LoadResult
from _memory import peak_rss_of, wait_for_children
from _scenarios import (
    BENCH_DIR,
    PROCESSES_TARGET,
    BenchError,
    Options,
    Scenario,
    both_cpus,
    free_ports,
    hookline_command,
    hookline_env,
    import_example,
    running_server,
    server_cpus,
)

from hookline.store.sql_store import open_store

FLAT_SHARE = 0.02
"""Depth growth allowed from the reference time to the end: one second's worth of 2 % of the rate…"""
FLAT_MIN = 100
"""… and at least this many: executions between their claim and their finish come and go in batches."""
REFERENCE_SECONDS = 10.0
"""The depth at the end is compared with the depth at this time (issue 14), or at half a shorter trial."""
STEP = 1.25
"""The factor between rates while bracketing the answer."""
BRACKET_STEPS = 10
"""At most this many steps up or down from the starting rate (x or / 9.3 in all)."""
BISECT_ROUNDS = 3
"""Bisections of the bracket (each a short trial) before the confirmation."""
CONFIRM_STEP = 0.92
"""When a full-length trial is not sustained, the next one offers this share of its rate."""
CONFIRMATIONS = 4
"""Full-length trials at most: a rate that held for the short trials may not hold for a minute, and
a ratio between two scenarios (issue 14's target 5) needs a confirmed rate for both."""
LOAD_CONNECTIONS = 256
"""The fixed-rate generator's connections: at 8k/s with answers taking 30 ms, 240 are in flight (with
128, two processes at 7k/s made the generator fall behind, and the trial fail, on its own account)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """The queue at `t` seconds into a trial: executions accepted, finished, and still pending."""

    t: float
    accepted: int
    finished: int
    depth: int


def is_flat(depth_at_reference: int, depth_at_end: int, rate: float) -> bool:
    """Whether the queue did not grow: at the end at most `tolerance(rate)` above the reference."""
    return depth_at_end <= depth_at_reference + tolerance(rate)


def tolerance(rate: float) -> float:
    """The depth growth a flat queue may show: FLAT_SHARE x rate, at least FLAT_MIN."""
    return max(FLAT_SHARE * rate, FLAT_MIN)


def reference_time(seconds: float) -> float:
    """When a trial's reference depth is read: at 10 s, or half-way through a shorter trial."""
    return min(REFERENCE_SECONDS, seconds / 2)


def sample_at(samples: list[Sample], t: float) -> Sample:
    """The sample read nearest to `t` seconds."""
    return min(samples, key=lambda sample: abs(sample.t - t))


def depth_around(samples: list[Sample], t: float | None = None) -> int:
    """The median depth of the three samples around `t` seconds (None: the last three)."""
    if t is None:
        window = samples[-3:]
    else:
        middle = samples.index(sample_at(samples, t))
        window = samples[max(0, middle - 1) : middle + 2]
    return int(statistics.median(sample.depth for sample in window))


@dataclass(slots=True)
class Trial:
    """One fixed-rate load of a fresh server and what its queue did."""

    rate: float
    seconds: int
    load: LoadResult
    samples: list[Sample]
    server_cpu_pct: float
    other_cpu_pct: float
    peak_rss_mb: list[float] = field(default_factory=list)

    @property
    def reference(self) -> Sample:
        """The sample at the reference time."""
        return sample_at(self.samples, reference_time(self.seconds))

    @property
    def end(self) -> Sample:
        """The last sample (the end of the load)."""
        return self.samples[-1]

    @property
    def delivered(self) -> bool:
        """Whether every offered request was sent and answered 2xx."""
        load = self.load
        return load.sent == load.offered and load.ok == load.sent

    @property
    def shortfall(self) -> int:
        """Requests due by the last sample that the server had not accepted by then."""
        due = min(self.load.offered, int(self.rate * self.end.t))
        return due - self.end.accepted

    @property
    def on_schedule(self) -> bool:
        """Whether the server kept up with the schedule: a shortfall no larger than the requests in
        flight on the connections plus `tolerance(rate)` (a pause of the server, say a checkpoint,
        is caught up by the end; a server that accepts less than offered is not)."""
        return self.shortfall <= LOAD_CONNECTIONS + tolerance(self.rate)

    @property
    def depth_at_reference(self) -> int:
        """The depth at the reference time (median of three samples)."""
        return depth_around(self.samples, reference_time(self.seconds))

    @property
    def depth_at_end(self) -> int:
        """The depth at the end (median of the last three samples)."""
        return depth_around(self.samples)

    @property
    def flat(self) -> bool:
        """Whether the queue depth at the end is within the tolerance of its depth at the reference."""
        return is_flat(self.depth_at_reference, self.depth_at_end, self.rate)

    @property
    def sustained(self) -> bool:
        """Delivered on schedule, and flat."""
        return self.delivered and self.on_schedule and self.flat

    @property
    def accepted_per_s(self) -> float:
        """2xx answers per second of the load."""
        return self.load.ok / self.seconds

    @property
    def finished_per_s(self) -> float:
        """Executions finished per second from the reference time to the end (the steady state)."""
        first, last = self.reference, self.end
        return (last.finished - first.finished) / (last.t - first.t) if last.t > first.t else 0.0

    def describe(self) -> str:
        """One line: the rate, what was accepted and finished, the depths, the verdict."""
        verdict = "sustained" if self.sustained else "NOT sustained"
        if not self.delivered:
            load = self.load
            verdict += (
                f" (sent {load.sent:,} of {load.offered:,}: {load.ok:,} 2xx, {load.non_2xx:,} other answers,"
                f" {load.errors:,} without an answer)"
            )
        if not self.on_schedule:
            verdict += f" (behind the schedule: {self.shortfall:,} requests due not accepted at the end)"
        noisy = "  (noisy: other processes used the CPU)" if self.other_cpu_pct > NOISY_CPU_PCT else ""
        rss = f", peak RSS {max(self.peak_rss_mb):.0f} MB" if self.peak_rss_mb else ""
        return (
            f"{self.rate:,.0f}/s for {self.seconds} s: accepted {self.accepted_per_s:,.0f}/s "
            f"(p99 {self.load.p99_ms:.1f} ms), finished {self.finished_per_s:,.0f}/s, depth "
            f"{self.depth_at_reference:,} at {self.reference.t:.0f} s → {self.depth_at_end:,} at the end "
            f"(flat ≤ {self.depth_at_reference + tolerance(self.rate):,.0f}): {verdict}; "
            f"server CPU {self.server_cpu_pct:.0f}%{rss}, other CPU {self.other_cpu_pct:.1f}%{noisy}"
        )


@dataclass(slots=True)
class Sustained:
    """One sustained scenario's search: where it started, its short trials, its full-length ones."""

    scenario: str
    start: float
    start_from: str
    steps: list[Trial] = field(default_factory=list)
    confirmations: list[Trial] = field(default_factory=list)

    @property
    def confirmed(self) -> Trial | None:
        """The full-length trial that was sustained, if one was."""
        return next((trial for trial in self.confirmations if trial.sustained), None)

    @property
    def rate(self) -> float:
        """The accepted rate of the confirmed trial (0 when none was sustained)."""
        return self.confirmed.accepted_per_s if self.confirmed else 0.0


def search(start: float, sustains: Callable[[float], bool]) -> float | None:
    """The highest rate found sustained (None: none was), bracketing from `start` then bisecting.

    `sustains(rate)` runs a short trial. Rates are rounded to tens; the midpoints are geometric.
    """
    low: float | None = None
    high: float | None = None
    rate = _round(start)
    for _ in range(BRACKET_STEPS):
        if sustains(rate):
            low = rate
            if high is not None:
                break
            rate = _round(rate * STEP)
        else:
            high = rate
            if low is not None:
                break
            rate = _round(rate / STEP)
    if low is None or high is None:
        return low
    for _ in range(BISECT_ROUNDS):
        middle = _round(math.sqrt(low * high))
        if middle in (low, high):
            break
        if sustains(middle):
            low = middle
        else:
            high = middle
    return low


def _round(rate: float) -> float:
    return float(max(10, round(rate / 10) * 10))


def short_seconds(seconds: int) -> int:
    """The length of the search's trials: a third of the full length, between 4 and 10 s."""
    return min(seconds, max(4, min(10, seconds // 3)))


def search_all(
    options: Options, scenarios: list[Scenario], probe: Callable[[], float]
) -> dict[str, Sustained]:
    """Search each sustained scenario; `sustained-2` starts at PROCESSES_TARGET x `sustained`'s rate."""
    found: dict[str, Sustained] = {}
    with tempfile.TemporaryDirectory(prefix="hookline-sustained-") as work:
        for scenario in scenarios:
            start, start_from = _start(options, scenario, found, probe)
            found[scenario.name] = _search_one(options, scenario, start, start_from, Path(work))
    return found


def _start(
    options: Options, scenario: Scenario, found: dict[str, Sustained], probe: Callable[[], float]
) -> tuple[float, str]:
    """Where a scenario's search starts, and why there."""
    if scenario.processes > 1 and found.get("sustained") and found["sustained"].rate:
        rate = found["sustained"].rate
        return PROCESSES_TARGET * rate, f"{PROCESSES_TARGET} × sustained's {rate:,.0f}/s"
    if options.sustained_rate:
        factor = PROCESSES_TARGET if scenario.processes > 1 else 1.0
        return factor * options.sustained_rate, f"--sustained-rate {options.sustained_rate:,.0f}"
    rate = probe()
    if scenario.processes > 1:
        return PROCESSES_TARGET * rate, f"{PROCESSES_TARGET} × the probe's drain rate {rate:,.0f}/s"
    return rate, "the probe's drain rate"


def _search_one(
    options: Options, scenario: Scenario, start: float, start_from: str, workdir: Path
) -> Sustained:
    """Bracket and bisect with short trials, then confirm with full-length ones."""
    result = Sustained(scenario.name, start, start_from)
    short = short_seconds(options.sustained_seconds)
    print(f"{scenario.name}: searching from {start:,.0f}/s ({start_from}), {short} s trials", flush=True)

    def sustains(rate: float) -> bool:
        result.steps.append(_quiet_trial(options, scenario, rate, short, workdir))
        return result.steps[-1].sustained

    rate = search(start, sustains)
    for _ in range(CONFIRMATIONS if rate else 0):
        assert rate is not None
        seconds = options.sustained_seconds
        result.confirmations.append(_quiet_trial(options, scenario, rate, seconds, workdir, "full length "))
        if result.confirmations[-1].sustained:
            break
        rate = _round(rate * CONFIRM_STEP)
    return result


def _quiet_trial(
    options: Options, scenario: Scenario, rate: float, seconds: int, workdir: Path, kind: str = ""
) -> Trial:
    """A trial, run again (up to --retries times) while other processes disturbed it; the quietest."""
    attempts: list[Trial] = []
    for _ in range(options.retries + 1):
        attempts.append(trial(options, scenario, rate, seconds, workdir))
        print(f"  {scenario.name} {kind}{attempts[-1].describe()}", flush=True)
        if attempts[-1].other_cpu_pct <= NOISY_CPU_PCT:
            break
    return min(attempts, key=lambda attempt: attempt.other_cpu_pct)


def trial(options: Options, scenario: Scenario, rate: float, seconds: int, workdir: Path) -> Trial:
    """One fixed-rate load of a fresh server on a fresh SQLite file, with the queue read every second."""
    assert scenario.example is not None
    wait_for_quiet()
    with tempfile.TemporaryDirectory(prefix=f"{scenario.name}-", dir=workdir) as folder:
        data = Path(folder)
        env = hookline_env(data)
        import_example(env, scenario.example)
        port = free_ports(1)[0]
        # One process on the server CPU; several unpinned, with the load generator, on both CPUs.
        command = hookline_command(server_cpus(options, scenario.processes)[0], port, scenario.processes)
        client = str(options.client_cpu) if scenario.processes == 1 else both_cpus(options)
        url = f"http://127.0.0.1:{port}/api/webhook:trigger/{scenario.key}"
        load = [
            "taskset", "-c", client, sys.executable, str(BENCH_DIR / "_fixed_rate.py"), url,
            "--rate", str(rate), "--seconds", str(seconds), "--request", scenario.request,
            "--connections", str(LOAD_CONNECTIONS),
        ]  # fmt: skip
        with running_server(command, env, port, data / "server.log") as pid:
            pids = wait_for_children(pid, scenario.processes) if scenario.processes > 1 else (pid,)
            before = cpu_times(pids)
            result, samples = asyncio.run(_offer(load, f"sqlite:///{data}/hookline.db", seconds))
            use = cpu_use(before, cpu_times(pids))
            peaks = peak_rss_of((pid,))
    return Trial(rate, seconds, result, samples, use.server_pct, use.other_pct, peaks)


async def _offer(command: list[str], database: str, seconds: int) -> tuple[LoadResult, list[Sample]]:
    """Run the load generator; read the queue every second of its load (from its `started` line)."""
    store = await open_store(database, migrate=False)
    try:
        first, _ = await queue_sample(store)
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        loop = asyncio.get_running_loop()
        samples: list[Sample] = []
        if (await process.stdout.readline()).strip() == b"started":
            started = loop.time()
            for second in range(1, seconds + 1):
                await asyncio.sleep(max(0.0, started + second - loop.time()))
                total, depth = await queue_sample(store)
                accepted = total - first
                samples.append(Sample(loop.time() - started, accepted, accepted - depth, depth))
        out, err = await process.communicate()
    finally:
        await store.close()
    if process.returncode != 0 or not samples:
        raise BenchError(f"the load generator failed ({process.returncode}):\n{out.decode()}{err.decode()}")
    figures = json.loads(out.decode().strip().splitlines()[-1])
    figures.pop("wall_seconds", None)
    return LoadResult(**figures), samples
