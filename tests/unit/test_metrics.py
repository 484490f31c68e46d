"""hookline's plain counters give the scrape prometheus_client's own metrics would give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hookline.metrics import _DURATIONS, Metrics
from hookline.models import Execution, ExecutionStatus, Job, JobStatus, Node

START = datetime(2026, 1, 1, tzinfo=UTC)
# Below the first bucket bound, on some bounds and just past them, above the last.
SECONDS = [0.0, 0.0004, 0.001, 0.0011, 0.003, 0.01, 0.7, 1.0, 2.5, 29.9, 60.0, 61.0, 500.0]


def test_the_scrape_matches_prometheus_client_for_the_same_events() -> None:
    """Same names, help, types, labels, buckets, counts and sums; only `_created` times may differ."""
    metrics = Metrics()
    reference = CollectorRegistry()
    requests = Counter(
        "hookline_webhook_requests",
        "Webhook requests answered, by workflow key and HTTP status.",
        ["workflow", "status"],
        registry=reference,
    )
    rejections = Counter(
        "hookline_webhook_rejections",
        "Webhook requests refused before anything ran, by workflow key (empty: none) and reason.",
        ["workflow", "reason"],
        registry=reference,
    )
    executions = Counter(
        "hookline_executions_finished",
        "Executions that reached a final status, by workflow key and status.",
        ["workflow", "status"],
        registry=reference,
    )
    execution_seconds = Histogram(
        "hookline_execution_duration_seconds",
        "Time from an execution's start to its final status.",
        ["workflow"],
        buckets=_DURATIONS,
        registry=reference,
    )
    node_seconds = Histogram(
        "hookline_node_duration_seconds",
        "Time one node run took, by node type.",
        ["type"],
        buckets=_DURATIONS,
        registry=reference,
    )
    for key, status in [("orders", 200), ("orders", 200), ("orders", 500), ("refunds", 202)]:
        metrics.answered(key, status)
        requests.labels(key, str(status)).inc()
    for workflow, reason in [("orders", "unauthorized"), ("", "not_found"), ("orders", "unauthorized")]:
        metrics.rejected(reason, workflow)
        rejections.labels(workflow, reason).inc()
    for index, seconds in enumerate(SECONDS):
        end = START + timedelta(seconds=seconds)
        elapsed = (end - START).total_seconds()  # what hookline observes (timedelta rounds to µs)
        node = Node(id=1, workflow_id=1, key="n", type="condition" if index % 2 else "response")
        metrics.job_finished(node, Job(1, 1, 1, "n", JobStatus.RESOLVED, started_at=START, finished_at=end))
        node_seconds.labels(node.type).observe(elapsed)
        status = ExecutionStatus.RESOLVED if index % 3 else ExecutionStatus.FAILED
        metrics.execution_finished(_execution(status, START, end))
        executions.labels("orders", status.value).inc()
        execution_seconds.labels("orders").observe(elapsed)

    # The gauges are prometheus_client's own in both (read from the database when scraped).
    Gauge(
        "hookline_executions",
        "Executions in the database, by workflow key and status (read when scraped).",
        ["workflow", "status"],
        registry=reference,
    )
    Gauge(
        "hookline_queue_depth",
        "Asynchronous executions waiting to run (read when scraped).",
        registry=reference,
    )
    Gauge(
        "hookline_executions_running",
        "Asynchronous executions this process runs right now.",
        registry=reference,
    )
    assert _without_created(metrics.render()) == _without_created(generate_latest(reference))


def test_durations_are_not_recorded_without_both_times() -> None:
    """A job or execution that never started has no duration sample (and counts as finished)."""
    metrics = Metrics()
    metrics.job_finished(
        Node(id=1, workflow_id=1, key="n", type="end"), Job(1, 1, 1, "n", JobStatus.RESOLVED)
    )
    unstarted = Execution(
        id=1,
        workflow_id=1,
        key="k",
        event_key="e",
        context={},
        status=ExecutionStatus.CANCELED,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    metrics.execution_finished(unstarted)
    text = metrics.render().decode()
    assert 'hookline_executions_finished_total{status="canceled",workflow="k"} 1.0' in text
    assert "hookline_node_duration_seconds_count" not in text
    assert "hookline_execution_duration_seconds_count" not in text


def _execution(status: ExecutionStatus, started: datetime, finished: datetime) -> Execution:
    return Execution(
        id=1,
        workflow_id=1,
        key="orders",
        event_key="e",
        context={},
        status=status,
        created_at=started,
        started_at=started,
        finished_at=finished,
    )


def _without_created(scrape: bytes) -> list[str]:
    """The scrape's lines without the `_created` samples (their times differ between the two)."""
    return [line for line in scrape.decode().splitlines() if "_created" not in line]


# -- `serve --processes N`: the counts of every process, summed from their snapshots ----------

# Durations exact in binary and in microseconds, so that sums do not depend on the order of adding.
EXACT = [0.0, 0.015625, 0.03125, 0.0625, 0.125, 0.5, 1.0, 2.5, 8.0, 64.0]


def _record(metrics: Metrics, requests: list[tuple[str, int]], seconds: list[float]) -> None:
    """Count these answers, and one node run and one finished execution per duration."""
    for key, status in requests:
        metrics.answered(key, status)
    metrics.rejected("unauthorized", "orders")
    node = Node(id=1, workflow_id=1, key="n", type="condition")
    for elapsed in seconds:
        end = START + timedelta(seconds=elapsed)
        metrics.job_finished(node, Job(1, 1, 1, "n", JobStatus.RESOLVED, started_at=START, finished_at=end))
        metrics.execution_finished(_execution(ExecutionStatus.RESOLVED, START, end))


def test_other_processes_snapshots_add_up_with_this_ones() -> None:
    """Rendered with another process's snapshot, the scrape is what one process counting both would give,
    and the running executions are summed."""
    mine, theirs, both = Metrics(), Metrics(), Metrics()
    first: tuple[list[tuple[str, int]], list[float]] = ([("orders", 200), ("orders", 500)], EXACT[:5])
    second: tuple[list[tuple[str, int]], list[float]] = ([("orders", 200), ("refunds", 202)], EXACT[5:])
    _record(mine, *first)
    _record(theirs, *second)
    _record(both, *first)
    _record(both, *second)
    mine.set_stored({}, running=2)
    both.set_stored({}, running=5)
    scrape = mine.render([theirs.snapshot(running=3)])
    assert sorted(_without_created(scrape)) == sorted(_without_created(both.render()))
    # Afterwards the process's own scrape is its own again.
    assert "hookline_executions_running 2.0" in mine.render().decode()


def test_a_replacement_counts_on_from_its_predecessors_snapshot() -> None:
    """A process restored from the snapshot of the one it replaces counts on from there, without its
    running executions (they are not running any more)."""
    first, replacement, both = Metrics(), Metrics(), Metrics()
    _record(first, [("orders", 200)] * 3, EXACT[:4])
    replacement.restore(first.snapshot(running=7))
    _record(replacement, [("orders", 200), ("orders", 404)], EXACT[4:])
    _record(both, [("orders", 200)] * 3, EXACT[:4])
    _record(both, [("orders", 200), ("orders", 404)], EXACT[4:])
    assert sorted(_without_created(replacement.render())) == sorted(_without_created(both.render()))
    assert replacement.snapshot(running=1)["running"] == 1
    assert sorted(_without_created(Metrics().render([replacement.snapshot(running=0)]))) == sorted(
        _without_created(both.render())
    )


def test_a_snapshot_of_the_wrong_shape_adds_nothing() -> None:
    """A file another version wrote, or a damaged one, leaves the scrape as it was."""
    metrics = Metrics()
    _record(metrics, [("orders", 200)], EXACT[:3])
    odd: list[dict[str, object]] = [
        {},
        {"counters": [], "histograms": "x", "running": "3"},
        {
            "counters": {
                "hookline_webhook_requests": [["orders", "200"], [["orders"], 1, 0], [["a", "b"], True, 0]]
            }
        },
        {"histograms": {"hookline_node_duration_seconds": [[["condition"], [1, 2], 0.5], [["x"], None, 1]]}},
        {"running": True},
    ]
    assert _without_created(metrics.render(odd)) == _without_created(metrics.render())
