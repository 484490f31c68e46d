"""Prometheus metrics: what the webhook answered, what it refused, what ran and how long it took."""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from hookline.models import Execution, ExecutionStatus, Job, Node

__all__ = ["CONTENT_TYPE", "Metrics", "Snapshot"]

_DURATIONS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Snapshot = dict[str, Any]
"""One process's counts as plain JSON (`Metrics.snapshot`), what the processes of `serve --processes N`
share: `{"counters": {name: [[label values, count, created], ...]}, "histograms": {name: [[label
values, bucket counts, sum], ...]}, "running": executions running now}`."""


class Metrics:
    """The metrics of one server process, in a registry of their own (not the global one).

    Workflow keys become labels only for workflows that exist, so requests to made-up
    URLs cannot grow the number of series.

    The per-request counts are plain numbers in dictionaries, turned into Prometheus samples
    only when scraped (`_Counts`): prometheus_client's metrics take a lock and look up the
    labelled child on every increment, a few percent of a synchronous run's CPU. Only the event
    loop's thread counts, so the plain increments need no lock.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._counts = _Counts()
        self.registry.register(self._counts)
        self.stored = Gauge(
            "hookline_executions",
            "Executions in the database, by workflow key and status (read when scraped).",
            ["workflow", "status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "hookline_queue_depth",
            "Asynchronous executions waiting to run (read when scraped).",
            registry=self.registry,
        )
        self.running = Gauge(
            "hookline_executions_running",
            "Asynchronous executions this process runs right now.",
            registry=self.registry,
        )
        self._running = 0
        self._base: Snapshot = {}
        """The counts of the process this one replaced (`restore`), counted on from."""

    def answered(self, workflow: str, status: int) -> None:
        """Count one webhook answer."""
        self._counts.requests.add((workflow, status))

    def rejected(self, reason: str, workflow: str = "") -> None:
        """Count one refused webhook request; `workflow` is the key of an existing workflow, else ""."""
        self._counts.rejections.add((workflow, reason))

    def job_finished(self, node: Node, job: Job) -> None:
        """Record how long one node run took (the processor's `observe` hook)."""
        if job.started_at is not None and job.finished_at is not None:
            seconds = (job.finished_at - job.started_at).total_seconds()
            self._counts.node_seconds.observe((node.type,), seconds)

    def execution_finished(self, execution: Execution) -> None:
        """Count an execution that reached its final status, with how long it ran."""
        self.execution_ended(execution.key, execution.status, execution.started_at, execution.finished_at)

    def execution_ended(
        self, key: str, status: ExecutionStatus, started_at: datetime | None, finished_at: datetime | None
    ) -> None:
        """Count an execution of workflow `key` that reached `status`, with how long it ran."""
        self._counts.executions.add((key, status.value))
        if started_at is not None and finished_at is not None:
            seconds = (finished_at - started_at).total_seconds()
            self._counts.execution_seconds.observe((key,), seconds)

    def set_stored(self, counts: Mapping[tuple[str, str], int], running: int) -> None:
        """Refresh the gauges read from the database just before a scrape."""
        self.stored.clear()
        for (workflow, status), count in counts.items():
            self.stored.labels(workflow, status).set(count)
        self.queue_depth.set(sum(n for (_, status), n in counts.items() if status == "queued"))
        self.running.set(running)
        self._running = running

    def render(self, others: Sequence[Snapshot] = ()) -> bytes:
        """The metrics in the Prometheus text format; with `others` (the snapshots of the other
        processes of `serve --processes N`), every count and the running executions summed over all."""
        self._counts.shared = [self._base, *others]
        self.running.set(self._running + sum(_running_of(other) for other in others))
        try:
            return generate_latest(self.registry)
        finally:
            self._counts.shared = []

    def snapshot(self, running: int) -> Snapshot:
        """This process's counts (with those it took over, see `restore`) and the executions it runs."""
        return self._counts.snapshot([self._base], running)

    def restore(self, snapshot: Snapshot) -> None:
        """Count on from `snapshot`: the counts of the process this one replaces (not its running ones)."""
        self._base = snapshot


class _Counter:
    """A counter by label values: the count and when each label set was first counted."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self._values: dict[tuple[object, ...], int] = {}
        self._created: dict[tuple[object, ...], float] = {}

    def add(self, labels: tuple[object, ...]) -> None:
        """Count one."""
        values = self._values
        count = values.get(labels)
        if count is None:
            self._created[labels] = time.time()
            values[labels] = 1
        else:
            values[labels] = count + 1

    def rows(self, shared: Iterable[Snapshot] = ()) -> list[list[Any]]:
        """The counts as JSON, `[label values as text, count, created]` each, added to those of `shared`."""
        merged: dict[tuple[str, ...], list[Any]] = {}
        for labels, count in list(self._values.items()):
            _add_count(merged, [str(v) for v in labels], count, self._created[labels])
        for snapshot in shared:
            for row in _rows(snapshot, "counters", self.name):
                if _is_counter_row(row, len(self.labels)):
                    _add_count(merged, *row)
        return [[list(labels), count, created] for labels, (count, created) in merged.items()]

    def family(self, shared: Sequence[Snapshot] = ()) -> Metric:
        """The samples, as prometheus_client's Counter gives them (`_total` and `_created`)."""
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, count, created in self.rows(shared):
            family.add_metric(labels, count, created=created)
        return family


class _Series:
    """One label set of a histogram: how many values fell in each bucket (the last is +Inf), their sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(_DURATIONS) + 1)
        self.total = 0.0


class _Histogram:
    """A histogram by label values: the count per bucket, the sum, in plain numbers."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self._series: dict[tuple[object, ...], _Series] = {}

    def observe(self, labels: tuple[object, ...], value: float) -> None:
        """Record one value: in the first bucket whose bound is at least `value` (else +Inf)."""
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = _Series()
        series.counts[bisect.bisect_left(_DURATIONS, value)] += 1
        series.total += value

    def rows(self, shared: Iterable[Snapshot] = ()) -> list[list[Any]]:
        """The series as JSON, `[label values as text, bucket counts, sum]` each, plus those of `shared`."""
        merged: dict[tuple[str, ...], _Series] = {}
        for labels, series in list(self._series.items()):
            _add_series(merged, [str(v) for v in labels], series.counts, series.total)
        for snapshot in shared:
            for row in _rows(snapshot, "histograms", self.name):
                if _is_histogram_row(row, len(self.labels)):
                    _add_series(merged, *row)
        return [[list(labels), series.counts, series.total] for labels, series in merged.items()]

    def family(self, shared: Sequence[Snapshot] = ()) -> Metric:
        """The samples, as prometheus_client's Histogram gives them (cumulative `le` buckets)."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        bounds = [repr(bound) for bound in _DURATIONS] + ["+Inf"]  # as prometheus_client writes these
        for labels, counts, total in self.rows(shared):
            running, buckets = 0, []
            for bound, count in zip(bounds, counts, strict=True):
                running += count
                buckets.append((bound, float(running)))
            family.add_metric(labels, buckets, total)
        return family


class _Counts(Collector):
    """The counters and histograms that change on every request, collected when scraped."""

    def __init__(self) -> None:
        self.requests = _Counter(
            "hookline_webhook_requests",
            "Webhook requests answered, by workflow key and HTTP status.",
            ("workflow", "status"),
        )
        self.rejections = _Counter(
            "hookline_webhook_rejections",
            "Webhook requests refused before anything ran, by workflow key (empty: none) and reason.",
            ("workflow", "reason"),
        )
        self.executions = _Counter(
            "hookline_executions_finished",
            "Executions that reached a final status, by workflow key and status.",
            ("workflow", "status"),
        )
        self.execution_seconds = _Histogram(
            "hookline_execution_duration_seconds",
            "Time from an execution's start to its final status.",
            ("workflow",),
        )
        self.node_seconds = _Histogram(
            "hookline_node_duration_seconds", "Time one node run took, by node type.", ("type",)
        )

        self.shared: list[Snapshot] = []
        """Counts to add to this process's own in the next collection (`Metrics.render`)."""

    def collect(self) -> Iterator[Metric]:
        """Every family, in the order they were declared."""
        for counter in self._counters():
            yield counter.family(self.shared)
        for histogram in self._histograms():
            yield histogram.family(self.shared)

    def snapshot(self, shared: Sequence[Snapshot], running: int) -> Snapshot:
        """The counts as JSON, added to those of `shared`, and `running`."""
        return {
            "counters": {counter.name: counter.rows(shared) for counter in self._counters()},
            "histograms": {histogram.name: histogram.rows(shared) for histogram in self._histograms()},
            "running": running,
        }

    def _counters(self) -> tuple[_Counter, ...]:
        return (self.requests, self.rejections, self.executions)

    def _histograms(self) -> tuple[_Histogram, ...]:
        return (self.execution_seconds, self.node_seconds)


# -- Snapshots: another process's counts, as JSON read from a file it wrote -------------------------
# A snapshot that does not have the expected shape (a file of another version, say) adds nothing.


def _rows(snapshot: Snapshot, kind: str, name: str) -> list[Any]:
    """The rows of one metric in a snapshot; none when it has none, or not as a list."""
    families = snapshot.get(kind)
    rows = families.get(name) if isinstance(families, dict) else None
    return rows if isinstance(rows, list) else []


def _is_counter_row(row: Any, width: int) -> bool:
    return (
        isinstance(row, list)
        and len(row) == 3
        and _is_labels(row[0], width)
        and _is_number(row[1])
        and _is_number(row[2])
    )


def _is_histogram_row(row: Any, width: int) -> bool:
    return (
        isinstance(row, list)
        and len(row) == 3
        and _is_labels(row[0], width)
        and isinstance(row[1], list)
        and len(row[1]) == len(_DURATIONS) + 1
        and all(_is_number(count) for count in row[1])
        and _is_number(row[2])
    )


def _is_labels(labels: Any, width: int) -> bool:
    return isinstance(labels, list) and len(labels) == width and all(isinstance(v, str) for v in labels)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _add_count(
    merged: dict[tuple[str, ...], list[Any]], labels: list[str], count: float, created: float
) -> None:
    """Add one counter row to the merged ones: counts add up, the earliest creation time stays."""
    key = tuple(labels)
    seen = merged.get(key)
    merged[key] = [count, created] if seen is None else [seen[0] + count, min(seen[1], created)]


def _add_series(
    merged: dict[tuple[str, ...], _Series], labels: list[str], counts: list[int], total: float
) -> None:
    """Add one histogram row to the merged ones, bucket by bucket."""
    series = merged.get(tuple(labels))
    if series is None:
        series = merged[tuple(labels)] = _Series()
    series.counts = [mine + theirs for mine, theirs in zip(series.counts, counts, strict=True)]
    series.total += total


def _running_of(snapshot: Snapshot) -> int:
    running = snapshot.get("running")
    return running if isinstance(running, int) and not isinstance(running, bool) else 0
