"""The report: medians, PASS/FAIL against the targets, Markdown tables, and the raw JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass

from _measure import Run
from _scenarios import CPU_TARGET, SCENARIOS, Options, Scenario

P99_TARGET_MS = 20.0


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


def summarise(scenario: Scenario, runs: list[Run], bare_rate: float | None) -> Summary:
    """Median throughput and latencies over the runs; the ratio to the bare endpoint's median."""
    rate = statistics.median(r.wrk.requests_per_s for r in runs)
    return Summary(
        scenario,
        runs,
        rate,
        statistics.median(r.wrk.p50_ms for r in runs),
        statistics.median(r.wrk.p99_ms for r in runs),
        sum(r.wrk.non_2xx for r in runs),
        sum(r.wrk.socket_errors for r in runs),
        rate / bare_rate if bare_rate else None,
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def ratio_cell(summary: Summary) -> str:
    """The ratio to bare with its verdict when the scenario has a target (in brackets)."""
    if summary.scenario.name == "bare":
        return "1.00"
    if summary.ratio is None:
        return "n/a (bare not run)"
    target = summary.scenario.ratio_target
    if target is None:
        return f"{summary.ratio:.2f}"
    return f"{summary.ratio:.2f} {_verdict(summary.ratio >= target)} (≥ {target:.1f})"


def table(summaries: list[Summary]) -> str:
    """The Markdown table of all scenarios."""
    lines = [
        f"| scenario | req/s | vs bare | p50 ms | p99 ms (< {P99_TARGET_MS:.0f}) "
        "| non-2xx (= 0) | runs (req/s) | other CPU, max |",
        "|---|---:|---|---:|---|---|---|---:|",
    ]
    for s in summaries:
        runs = " / ".join(f"{r.wrk.requests_per_s:,.0f}" for r in s.runs)
        errors = f", {s.socket_errors} socket errors" if s.socket_errors else ""
        lines.append(
            f"| {s.scenario.title} | {s.requests_per_s:,.0f} | {ratio_cell(s)} | {s.p50_ms:.2f} "
            f"| {s.p99_ms:.2f} {_verdict(s.p99_ms < P99_TARGET_MS)} "
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
    """The Markdown table of where the CPU went during the load (medians over the runs).

    The µs per request divide that CPU by the requests answered, so for the async scenarios they
    include what the workers spent meanwhile on the executions they resolved.
    """
    lines = [
        "| scenario | server processes | … per request | PostgreSQL | … per request | other processes, max |",
        "|---|---:|---:|---:|---:|---:|",
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
            f"| {max(r.other_cpu_pct for r in s.runs):.1f}% of the machine |"
        )
    return "\n".join(lines)


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
    """The Markdown table of the async runs' queues: resolved during the load, backlog, drain."""
    lines = [
        "| scenario | run | accepted (2xx) | resolved during load (per s) | queued/started at end of load "
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
    """One line per target with PASS or FAIL."""
    lines = []
    for s in summaries:
        if s.scenario.ratio_target is not None and s.ratio is not None:
            lines.append(
                f"{_verdict(s.ratio >= s.scenario.ratio_target)}  {s.scenario.name}: "
                f"{s.ratio:.2f} of bare (target ≥ {s.scenario.ratio_target})"
            )
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


def report(options: Options, runs: dict[str, list[Run]], machine: list[str]) -> None:
    """Print the verdicts and the Markdown tables; write the raw results when asked."""
    bare = statistics.median(r.wrk.requests_per_s for r in runs["bare"]) if "bare" in runs else None
    summaries = [summarise(SCENARIOS[name], runs[name], bare) for name in options.scenarios]
    print("\nTargets:")
    print("\n".join(verdict_lines(summaries)))
    print(f"\n{table(summaries)}")
    pairs = baseline_pairs(summaries)
    if pairs:
        print(f"\nPostgreSQL against SQLite (same run, medians):\n\n{baseline_table(pairs)}")
    print(f"\nCPU used during the load (medians; 100% = one core):\n\n{cpu_table(summaries)}")
    queued = {name: runs[name] for name in options.scenarios if SCENARIOS[name].queued}
    if queued:
        queue = queue_table(queued, options.seconds)
        print(f"\nAsync queues ({options.seconds} s of load per run):\n\n{queue}")
    if options.json_path is not None:
        raw = {
            "machine": machine,
            "options": _jsonable(options),
            "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
        }
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(raw, indent=2))
        print(f"\nraw results written to {options.json_path}")


def _jsonable(options: Options) -> dict[str, object]:
    data = asdict(options)
    data["json_path"] = str(options.json_path) if options.json_path else None
    return data
