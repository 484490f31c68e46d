"""The webhook hot path's shortcuts give the same results as the general code they stand in for."""

from __future__ import annotations

import gc
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline import runtime
from hookline.engine.dispatcher import _event_key
from hookline.expressions.templates import render
from hookline.metrics import Metrics
from hookline.models import Execution, Job, JobStatus, Node
from hookline.models import ExecutionStatus as Status
from hookline.trigger.context import build_context, context_plan

SCOPE: dict[str, Any] = {"$context": {"body": {"id": 42, "tags": ["a", "b"]}}}


class Text(str):
    """A str subclass, which takes the general rendering path."""

    __slots__ = ()


def test_event_keys_are_version_7_uuids_in_time_order() -> None:
    """Event keys are 32 hex digits of a v7 UUID carrying the current time in milliseconds."""
    before = time.time_ns() // 1_000_000
    keys = [_event_key() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert len(set(keys)) == len(keys)
    for key in keys:
        parsed = uuid.UUID(hex=key)
        assert parsed.hex == key
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert before <= int(key[:12], 16) <= after
    assert [key[:12] for key in keys] == sorted(key[:12] for key in keys)


def test_rendering_subclasses_and_tuples_takes_the_general_path() -> None:
    """A str subclass, an ordered mapping and a tuple render as the general code renders them."""
    config = OrderedDict([("id", Text("{{ $context.body.id }}")), ("t", ("x", "{{ $context.body.tags }}"))])
    assert render(config, SCOPE) == {"id": 42, "t": ["x", ["a", "b"]]}
    assert render(Text("plain"), SCOPE) == "plain"


def test_rendering_copies_constant_members() -> None:
    """Constant lists and dicts inside a config come back as new objects, never the config's own."""
    inner = {"k": [1, 2]}
    config: dict[str, Any] = {"a": inner, "b": [inner], "c": "{{ $context.body.id }}"}
    result = render(config, SCOPE)
    assert result == {"a": {"k": [1, 2]}, "b": [{"k": [1, 2]}], "c": 42}
    assert isinstance(result, dict)
    assert result["a"] is not inner
    assert result["a"]["k"] is not inner["k"]
    assert result["b"][0] is not inner


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.sampled_from(["x", "{{ $context.body.id }}"]),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["a", "{{ $context.body.id }}"]), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_plain_and_general_rendering_agree(value: Any) -> None:
    """Rendering a JSON value gives what rendering its tuple/OrderedDict twin gives."""
    assert render(value, SCOPE) == render(_general_twin(value), SCOPE)


def _general_twin(value: Any) -> Any:
    """The same value built from the types that skip the fast path."""
    if isinstance(value, dict):
        return OrderedDict((key, _general_twin(item)) for key, item in value.items())
    if isinstance(value, list):
        return tuple(_general_twin(item) for item in value)
    if isinstance(value, str):
        return Text(value)
    return value


HEADERS = [("X-Request-Id", "r-1"), ("Authorization", "Basic eDp5"), ("X-Sig", "abc"), ("accept", "a")]
CONFIGS: list[dict[str, Any]] = [
    {},
    {"signature": {"header": "X-Sig"}},
    {
        "request": {
            "headers": [{"key": "X-Request-ID"}, {"key": "Date"}, {"bad": 1}],
            "query": [{"key": "a[0]", "_var": "first"}, {"key": "", "_var": "none"}],
            "body": [{"key": "order.id", "alias": "Order", "_var": "order_id"}, {"key": "x"}],
        }
    },
]


@pytest.mark.parametrize("config", CONFIGS)
def test_a_context_plan_builds_the_context_the_config_does(config: dict[str, Any]) -> None:
    """Building a context from a precomputed plan gives exactly what building it from the config gives."""
    query = {"a": ["q"]}
    body = {"order": {"id": 7}}
    expected = build_context(HEADERS, query, body, config)
    assert build_context(HEADERS, query, body, config, plan=context_plan(config)) == expected


def _samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric, by their sorted labels."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_keep_counting_per_label_set() -> None:
    """Answers, executions and node timings accumulate per label set across repeated calls."""
    metrics = Metrics()
    for status in (200, 200, 500):
        metrics.answered("orders", status)
    execution = Execution(
        id=1,
        workflow_id=1,
        key="orders",
        event_key="e",
        context={},
        status=Status.RESOLVED,
        created_at=_t(0),
        started_at=_t(0),
        finished_at=_t(1),
    )
    node = Node(id=1, workflow_id=1, key="n", type="condition")
    job = Job(
        id=1,
        execution_id=1,
        node_id=1,
        node_key="n",
        status=JobStatus.RESOLVED,
        started_at=_t(0),
        finished_at=_t(2),
    )
    for _ in range(3):
        metrics.execution_finished(execution)
        metrics.job_finished(node, job)
    requests = _samples(metrics, "hookline_webhook_requests_total")
    assert requests[(("status", "200"), ("workflow", "orders"))] == 2
    assert requests[(("status", "500"), ("workflow", "orders"))] == 1
    assert (
        _samples(metrics, "hookline_executions_finished_total")[
            (("status", "resolved"), ("workflow", "orders"))
        ]
        == 3
    )
    assert _samples(metrics, "hookline_node_duration_seconds_count")[(("type", "condition"),)] == 3
    assert _samples(metrics, "hookline_node_duration_seconds_sum")[(("type", "condition"),)] == pytest.approx(
        6e-6
    )
    assert _samples(metrics, "hookline_execution_duration_seconds_count")[(("workflow", "orders"),)] == 3


def _t(microseconds: int) -> datetime:
    """A timestamp some microseconds into 2026."""
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A collector with nothing frozen, restored (unfrozen, default thresholds) afterwards."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("unfrozen")
def test_settling_the_heap_freezes_once_and_raises_the_threshold() -> None:
    """The first call freezes what exists and raises the young-generation threshold; later ones do nothing."""
    runtime.settle_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert gc.get_threshold() == runtime.GC_THRESHOLD
    survivor = [object() for _ in range(10)]
    gc.set_threshold(700, 10, 10)
    runtime.settle_heap()
    assert gc.get_freeze_count() == frozen
    assert gc.get_threshold() == (700, 10, 10)
    assert survivor
