"""The report: medians, PASS/FAIL against the targets, Markdown tables, and the raw JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass

from _measure import Results, Run
from _scenarios import (
    CPU_TARGET,
    NODE_RED_TARGETS,
    PROCESSES_TARGET,
    RSS_TARGET_MB,
    SCENARIOS,
    SUSTAINED_TARGET,
    Comparison,
    Options,
    Scenario,
)
from _sustained import FLAT_MIN, FLAT_SHARE, REFERENCE_SECONDS, Sustained, Trial

P99_TARGET_MS = 20.0
NOT_RUN = "n/a (node-red not run)"


@dataclass(slots=True)
class Summary:
    """The medians of one scenario's runs and its verdicts."""

    scenario: Scenario
    runs: list[Run]
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    ratio: float | None
    """To the bare endpoint's median: information only (issue 14 retired those targets)."""
    peak_rss_mb: float | None
    """The largest peak RSS of one server process over the runs."""


def summarise(scenario: Scenario, runs: list[Run], bare_rate: float | None) -> Summary:
    """Median throughput and latencies over the runs; the ratio to the bare endpoint's median."""
    rate = statistics.median(r.wrk.requests_per_s for r in runs)
    peaks = [mb for r in runs for mb in r.peak_rss_mb]
    return Summary(
        scenario,
        runs,
        rate,
        statistics.median(r.wrk.p50_ms for r in runs),
        statistics.median(r.wrk.p99_ms for r in runs),
        sum(r.wrk.non_2xx for r in runs),
        sum(r.wrk.socket_errors for r in runs),
        rate / bare_rate if bare_rate else None,
        max(peaks) if peaks else None,
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def ratio_cell(summary: Summary) -> str:
    """The ratio to bare, as information (no target)."""
    if summary.scenario.name == "bare":
        return "1.00"
    if summary.ratio is None:
        return "n/a (bare not run)"
    return f"{summary.ratio:.2f}"


def table(summaries: list[Summary]) -> str:
    """The Markdown table of all scenarios."""
    lines = [
        f"| scenario | connections | req/s | vs bare (information) | p50 ms | p99 ms (< {P99_TARGET_MS:.0f}) "
        "| non-2xx (= 0) | runs (req/s) | other CPU, max |",
        "|---|---:|---:|---|---:|---|---|---|---:|",
    ]
    for s in summaries:
        runs = " / ".join(f"{r.wrk.requests_per_s:,.0f}" for r in s.runs)
        errors = f", {s.socket_errors} socket errors" if s.socket_errors else ""
        p99 = f"{s.p99_ms:.2f}" + (
            "" if s.scenario.node_red_path else f" {_verdict(s.p99_ms < P99_TARGET_MS)}"
        )
        lines.append(
            f"| {s.scenario.title} | {s.scenario.connections} | {s.requests_per_s:,.0f} | {ratio_cell(s)} "
            f"| {s.p50_ms:.2f} | {p99} "
            f"| {s.non_2xx} {_verdict(s.non_2xx == 0)}{errors} | {runs} "
            f"| {max(r.other_cpu_pct for r in s.runs):.1f}% |"
        )
    return "\n".join(lines)


def baseline_pairs(summaries: list[Summary]) -> list[tuple[Summary, Summary]]:
    """Each PostgreSQL scenario with its SQLite baseline, when both ran."""
    by_name = {s.scenario.name: s for s in summaries}
    return [
        (s, by_name[s.scenario.baseline])
        for s in summaries
        if s.scenario.baseline is not None and s.scenario.baseline in by_name
    ]


def baseline_table(pairs: list[tuple[Summary, Summary]]) -> str:
    """The Markdown table of PostgreSQL against SQLite from the same run."""
    lines = [
        "| scenario | req/s | SQLite scenario | its req/s | PostgreSQL / SQLite | target |",
        "|---|---:|---|---:|---:|---|",
    ]
    for pg, sqlite in pairs:
        ratio = pg.requests_per_s / sqlite.requests_per_s
        target = pg.scenario.baseline_target
        verdict = "—" if target is None else f"{_verdict(ratio >= target)} (≥ {target:.1f})"
        lines.append(
            f"| {pg.scenario.title} | {pg.requests_per_s:,.0f} | {sqlite.scenario.name} "
            f"| {sqlite.requests_per_s:,.0f} | {ratio:.2f} | {verdict} |"
        )
    return "\n".join(lines)


def cpu_table(summaries: list[Summary]) -> str:
    """The Markdown table of where the CPU went during the load (medians over the runs), and memory.

    The µs per request divide that CPU by the requests answered, so for the async scenarios they
    include what the workers spent meanwhile on the executions they resolved. The peak RSS is the
    largest of one server process (VmHWM) over the runs.
    """
    lines = [
        "| scenario | server processes | … per request | PostgreSQL | … per request | other processes, max "
        "| peak RSS of a server process |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        server = statistics.median(r.server_cpu_pct for r in s.runs)
        database = statistics.median(r.database_cpu_pct for r in s.runs)
        per_request = 1e4 / s.requests_per_s if s.requests_per_s else 0.0  # µs per request at 1 % of a core
        pg = (
            f"{database:.0f}% of a core | {database * per_request:.0f} µs" if s.scenario.postgres else "— | —"
        )
        lines.append(
            f"| {s.scenario.title} | {server:.0f}% of a core | {cpu_per_request(s):.0f} µs | {pg} "
            f"| {max(r.other_cpu_pct for r in s.runs):.1f}% of the machine | {_mb(s.peak_rss_mb)} |"
        )
    return "\n".join(lines)


def _mb(megabytes: float | None) -> str:
    return "—" if megabytes is None else f"{megabytes:,.0f} MB"


def cpu_per_request(summary: Summary) -> float:
    """The server processes' CPU per answered request, in µs (medians over the runs)."""
    server = statistics.median(r.server_cpu_pct for r in summary.runs)
    return server * 1e4 / summary.requests_per_s if summary.requests_per_s else 0.0


def cpu_pairs(summaries: list[Summary]) -> list[tuple[Summary, Summary, float]]:
    """Each scenario with a CPU baseline (signed, form), that baseline, and their CPU-per-request ratio."""
    by_name = {s.scenario.name: s for s in summaries}
    pairs = []
    for s in summaries:
        base = by_name.get(s.scenario.cpu_baseline or "")
        if base is not None and cpu_per_request(base):
            pairs.append((s, base, cpu_per_request(s) / cpu_per_request(base)))
    return pairs


def queue_table(runs: dict[str, list[Run]], seconds: int) -> str:
    """The Markdown table of the async runs' queues: resolved during the load, backlog, drain.

    For Node-RED, "resolved" are its background runs finished (GET /bg-count) and "left" those not.
    """
    lines = [
        "| scenario | run | accepted (2xx) | resolved (finished) during load (per s) | left at end of load "
        "| drain after load (per s) | final statuses |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, scenario_runs in runs.items():
        for number, run in enumerate(scenario_runs, 1):
            backlog = run.backlog
            if backlog is None:
                continue
            drain = "not drained"
            if backlog.drain_seconds is not None:
                rate = backlog.pending_at_end / backlog.drain_seconds if backlog.drain_seconds else 0.0
                drain = f"{backlog.drain_seconds:.1f} s ({rate:,.0f}/s)"
            statuses = ", ".join(f"{k} {v}" for k, v in sorted(backlog.final_counts.items()))
            accepted = run.wrk.requests - run.wrk.non_2xx
            lines.append(
                f"| {name} | {number} | {accepted:,} | {backlog.resolved_during_load:,} "
                f"({backlog.resolved_during_load / seconds:,.0f}/s) | {backlog.pending_at_end:,} "
                f"| {drain} | {statuses} |"
            )
    return "\n".join(lines)


def verdict_lines(summaries: list[Summary]) -> list[str]:
    """One line per target with PASS or FAIL: latency and errors, signed/form CPU, PostgreSQL."""
    lines = []
    for s in summaries:
        if s.scenario.node_red_path is None:
            lines.append(
                f"{_verdict(s.p99_ms < P99_TARGET_MS)}  {s.scenario.name}: "
                f"p99 {s.p99_ms:.2f} ms (target < {P99_TARGET_MS:.0f} ms)"
            )
        lines.append(f"{_verdict(s.non_2xx == 0)}  {s.scenario.name}: {s.non_2xx} non-2xx (target 0)")
    for s, base, ratio in cpu_pairs(summaries):
        lines.append(
            f"{_verdict(ratio <= CPU_TARGET)}  {s.scenario.name}: {cpu_per_request(s):.0f} µs of server CPU "
            f"per request, {ratio:.2f} of {base.scenario.name}'s {cpu_per_request(base):.0f} µs "
            f"(target ≤ {CPU_TARGET:.2f})"
        )
    for pg, sqlite in baseline_pairs(summaries):
        ratio = pg.requests_per_s / sqlite.requests_per_s
        target = pg.scenario.baseline_target
        verdict = "    " if target is None else _verdict(ratio >= target)
        goal = "no target" if target is None else f"target ≥ {target}"
        lines.append(f"{verdict}  {pg.scenario.name}: {ratio:.2f} of {sqlite.scenario.name} ({goal})")
    return lines


_FIGURES = {
    "requests_per_s": ("req/s", "{:,.0f}"),
    "p50_ms": ("p50", "{:.2f} ms"),
    "p99_ms": ("p99", "{:.2f} ms"),
}


def comparison_line(target: Comparison, by_name: dict[str, Summary]) -> str | None:
    """One issue 14 target against Node-RED: PASS/FAIL, or n/a when Node-RED did not run."""
    ours = by_name.get(target.scenario)
    if ours is None:
        return None
    label, number = _FIGURES[target.figure]
    higher = target.figure == "requests_per_s"
    goal = f"target {'≥' if higher else '≤'} {target.factor:.1f} × {target.reference}"
    value = getattr(ours, target.figure)
    reference = by_name.get(target.reference)
    if reference is None:
        return f"n/a   {target.scenario}: {label} {number.format(value)}: {NOT_RUN} ({goal})"
    theirs = getattr(reference, target.figure)
    ratio = value / theirs if theirs else float("inf")
    ok = ratio >= target.factor if higher else ratio <= target.factor
    return (
        f"{_verdict(ok)}  {target.scenario}: {label} {number.format(value)} = {ratio:.2f} × "
        f"{target.reference}'s {number.format(theirs)} ({goal})"
    )


def floor_lines(by_name: dict[str, Summary]) -> list[str]:
    """Where targets 3 and 4 meet the durable floor (floor_app.py: bare plus one fsync'd commit per
    request), when it ran: how far hookline is above it, and the floor itself against Node-RED."""
    lines = []
    ours, floor, theirs = (by_name.get(name) for name in ("sync-1", "floor-1", "node-red-sync-1"))
    if ours is not None and floor is not None:
        line = (
            f"info  sync-1: p50 {ours.p50_ms:.2f} ms, {ours.p50_ms - floor.p50_ms:.2f} ms above floor-1's "
            f"{floor.p50_ms:.2f} ms"
        )
        if theirs is not None and theirs.p50_ms:
            line += f", which alone is {floor.p50_ms / theirs.p50_ms:.2f} × node-red-sync-1's"
        lines.append(line)
    floor, theirs = by_name.get("floor"), by_name.get("node-red-sync")
    if floor is not None and theirs is not None and theirs.requests_per_s:
        ratio = floor.requests_per_s / theirs.requests_per_s
        lines.append(
            f"info  floor: {floor.requests_per_s:,.0f} req/s = {ratio:.2f} × node-red-sync's: the ceiling, "
            "on this machine, of any endpoint that commits each request before it answers"
        )
    return lines


def sustained_lines(sustained: dict[str, Sustained], by_name: dict[str, Summary]) -> list[str]:
    """Targets 1 and 5: the sustained rate against Node-RED's async rate, two processes against one."""
    lines = []
    one, two = sustained.get("sustained"), sustained.get("sustained-2")
    if one is not None:
        reference = by_name.get("node-red-async")
        rate = reference.requests_per_s if reference else None
        lines.append(_rate_line(one, "node-red-async", rate, SUSTAINED_TARGET, NOT_RUN))
    if two is not None:
        rate = one.rate if one is not None and one.confirmed else None
        lines.append(
            _rate_line(two, "sustained", rate, PROCESSES_TARGET, "n/a (sustained not run or not found)")
        )
    return lines


def _rate_line(found: Sustained, reference: str, rate: float | None, factor: float, missing: str) -> str:
    """PASS/FAIL for a sustained rate ≥ `factor` x the reference's `rate` (n/a without one)."""
    goal = f"target ≥ {factor} × {reference}"
    if found.confirmed is None:
        return f"FAIL  {found.scenario}: no rate confirmed flat ({goal})"
    if rate is None:
        return f"n/a   {found.scenario}: {found.rate:,.0f}/s: {missing} ({goal})"
    ratio = found.rate / rate
    return (
        f"{_verdict(ratio >= factor)}  {found.scenario}: {found.rate:,.0f}/s = {ratio:.2f} × "
        f"{reference}'s {rate:,.0f}/s ({goal})"
    )


def memory_lines(summaries: list[Summary], sustained: dict[str, Sustained]) -> list[str]:
    """Target 6: the peak RSS of every hookline server process, per scenario."""
    peaks = {s.scenario.name: [r.peak_rss_mb for r in s.runs] for s in summaries}
    peaks.update({name: [t.peak_rss_mb for t in _trials(found)] for name, found in sustained.items()})
    lines = []
    for name, runs in peaks.items():
        values = [mb for run in runs for mb in run]
        if not SCENARIOS[name].hookline or not values:
            continue
        worst = max(values)
        lines.append(
            f"{_verdict(worst <= RSS_TARGET_MB)}  {name}: peak RSS {worst:,.0f} MB, the largest server "
            f"process of {len(runs)} run(s) (target ≤ {RSS_TARGET_MB:.0f} MB per process)"
        )
    return lines


def _trials(found: Sustained) -> list[Trial]:
    return [*found.steps, *found.confirmations]


def sustained_report(found: Sustained) -> str:
    """One sustained scenario: the search, the confirmed rate, and the queue depth over time."""
    steps = ", ".join(f"{t.rate:,.0f} {'yes' if t.sustained else 'no'}" for t in found.steps)
    seconds = found.steps[0].seconds if found.steps else 0
    lines = [
        f"{found.scenario}: started at {found.start:,.0f}/s ({found.start_from}); "
        f"{seconds} s trials, sustained? {steps or 'none'}"
    ]
    for trial in found.confirmations:
        lines.append(f"  full length: {trial.describe()}")
    last = found.confirmed or (found.confirmations[-1] if found.confirmations else None)
    if last is None:
        lines.append("  no rate was sustained in the short trials: nothing to confirm")
        return "\n".join(lines)
    lines += [
        "",
        f"| {found.scenario} at {last.rate:,.0f}/s: t (s) | accepted so far | finished so far | depth |",
        "|---:|---:|---:|---:|",
    ]
    shown = [sample for sample in last.samples if round(sample.t) % 5 == 0 or sample is last.end]
    lines += [f"| {p.t:.0f} | {p.accepted:,} | {p.finished:,} | {p.depth:,} |" for p in shown]
    return "\n".join(lines)


def sustained_table(sustained: dict[str, Sustained]) -> str:
    """The Markdown table of the sustained scenarios' confirmed (or last full-length) trials."""
    lines = [
        "| scenario | rate found | accepted/s | finished/s (after 10 s) | depth at 10 s | depth at end "
        "| p99 ms | server CPU | peak RSS of a process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, found in sustained.items():
        last = found.confirmed or (found.confirmations[-1] if found.confirmations else None)
        if last is None:
            lines.append(f"| {name} | none | | | | | | | |")
            continue
        rate = f"{last.rate:,.0f}/s" + ("" if last.sustained else " (not flat)")
        lines.append(
            f"| {name} | {rate} | {last.accepted_per_s:,.0f} | {last.finished_per_s:,.0f} "
            f"| {last.depth_at_reference:,} | {last.depth_at_end:,} | {last.load.p99_ms:.1f} "
            f"| {last.server_cpu_pct:.0f}% | {_mb(max(last.peak_rss_mb, default=None))} |"
        )
    return "\n".join(lines)


def report(options: Options, results: Results, machine: list[str]) -> None:
    """Print the verdicts and the Markdown tables; write the raw results when asked."""
    runs = results.runs
    bare = statistics.median(r.wrk.requests_per_s for r in runs["bare"]) if "bare" in runs else None
    summaries = [summarise(SCENARIOS[name], runs[name], bare) for name in runs]
    by_name = {s.scenario.name: s for s in summaries}
    issue = [line for target in NODE_RED_TARGETS if (line := comparison_line(target, by_name))]
    issue += floor_lines(by_name)
    issue += sustained_lines(results.sustained, by_name)
    issue += memory_lines(summaries, results.sustained)
    if issue:
        print("\nIssue 14 targets (Node-RED and hookline in the same run):")
        print("\n".join(issue))
    if summaries:
        print("\nTargets:")
        print("\n".join(verdict_lines(summaries)))
        print(f"\n{table(summaries)}")
    pairs = baseline_pairs(summaries)
    if pairs:
        print(f"\nPostgreSQL against SQLite (same run, medians):\n\n{baseline_table(pairs)}")
    if summaries:
        print(f"\nCPU used during the load (medians; 100% = one core):\n\n{cpu_table(summaries)}")
    queued = {name: runs[name] for name in runs if SCENARIOS[name].queued}
    if queued:
        queue = queue_table(queued, options.seconds)
        print(f"\nAsync queues ({options.seconds} s of load per run):\n\n{queue}")
    if results.sustained:
        print(
            f"\nSustained async at a fixed offered rate (flat: the depth at the end ≤ the depth at "
            f"{REFERENCE_SECONDS:.0f} s, or half a shorter trial, + {FLAT_SHARE:.0%} of the rate, at least "
            f"{FLAT_MIN}; depths are medians of 3 samples a second apart; sustained: "
            "flat, on schedule, and every request answered 2xx):\n"
        )
        print("\n\n".join(sustained_report(found) for found in results.sustained.values()))
        print(f"\n{sustained_table(results.sustained)}")
    if options.json_path is not None:
        raw = {
            "machine": machine,
            "options": _jsonable(options),
            "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
            "sustained": {k: asdict(v) for k, v in results.sustained.items()},
            "skipped": results.skipped,
        }
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(raw, indent=2))
        print(f"\nraw results written to {options.json_path}")


def _jsonable(options: Options) -> dict[str, object]:
    data = asdict(options)
    data["json_path"] = str(options.json_path) if options.json_path else None
    return data
