"""Prometheus metrics: what the webhook answered, what it refused, what ran and how long it took."""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Mapping
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from hookline.models import Execution, ExecutionStatus, Job, Node

__all__ = ["CONTENT_TYPE", "Metrics"]

_DURATIONS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


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

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)


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

    def family(self) -> Metric:
        """The samples, as prometheus_client's Counter gives them (`_total` and `_created`)."""
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, count in list(self._values.items()):
            family.add_metric([str(v) for v in labels], count, created=self._created[labels])
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

    def family(self) -> Metric:
        """The samples, as prometheus_client's Histogram gives them (cumulative `le` buckets)."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        bounds = [repr(bound) for bound in _DURATIONS] + ["+Inf"]  # as prometheus_client writes these
        for labels, series in list(self._series.items()):
            running, buckets = 0, []
            for bound, count in zip(bounds, series.counts, strict=True):
                running += count
                buckets.append((bound, float(running)))
            family.add_metric([str(v) for v in labels], buckets, series.total)
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

    def collect(self) -> Iterator[Metric]:
        """Every family, in the order they were declared."""
        for metric in (
            self.requests,
            self.rejections,
            self.executions,
            self.execution_seconds,
            self.node_seconds,
        ):
            yield metric.family()
