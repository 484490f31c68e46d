"""Prometheus metrics: what the webhook answered, what it refused, what ran and how long it took."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hookline.models import Execution, Job, Node

__all__ = ["CONTENT_TYPE", "Metrics"]

C = TypeVar("C")

_DURATIONS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The metrics of one server process, in a registry of their own (not the global one).

    Workflow keys become labels only for workflows that exist, so requests to made-up
    URLs cannot grow the number of series.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hookline_webhook_requests",
            "Webhook requests answered, by workflow key and HTTP status.",
            ["workflow", "status"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "hookline_webhook_rejections",
            "Webhook requests refused before anything ran, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.executions = Counter(
            "hookline_executions_finished",
            "Executions that reached a final status, by workflow key and status.",
            ["workflow", "status"],
            registry=self.registry,
        )
        self.execution_seconds = Histogram(
            "hookline_execution_duration_seconds",
            "Time from an execution's start to its final status.",
            ["workflow"],
            buckets=_DURATIONS,
            registry=self.registry,
        )
        self.node_seconds = Histogram(
            "hookline_node_duration_seconds",
            "Time one node run took, by node type.",
            ["type"],
            buckets=_DURATIONS,
            registry=self.registry,
        )
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
        # The labelled children of the metrics that are never cleared, so each label set is
        # looked up once rather than on every request (prometheus_client's labels() locks and
        # validates every time).
        self._children: dict[Hashable, Any] = {}

    def _child(self, key: Hashable, make: Callable[[], C]) -> C:
        """The child cached under `key`, made (by a `labels` call) the first time."""
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = make()
        return child

    def answered(self, workflow: str, status: int) -> None:
        """Count one webhook answer."""
        self._child(("requests", workflow, status), lambda: self.requests.labels(workflow, str(status))).inc()

    def rejected(self, reason: str) -> None:
        """Count one refused webhook request."""
        self.rejections.labels(reason).inc()

    def job_finished(self, node: Node, job: Job) -> None:
        """Record how long one node run took (the processor's `observe` hook)."""
        if job.started_at is not None and job.finished_at is not None:
            seconds = (job.finished_at - job.started_at).total_seconds()
            self._child(("node", node.type), lambda: self.node_seconds.labels(node.type)).observe(seconds)

    def execution_finished(self, execution: Execution) -> None:
        """Count an execution that reached its final status, with how long it ran."""
        key, status = execution.key, execution.status.value
        self._child(("executions", key, status), lambda: self.executions.labels(key, status)).inc()
        if execution.started_at is not None and execution.finished_at is not None:
            seconds = (execution.finished_at - execution.started_at).total_seconds()
            self._child(("duration", key), lambda: self.execution_seconds.labels(key)).observe(seconds)

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
