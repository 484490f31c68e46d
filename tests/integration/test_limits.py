"""Back-pressure options through HTTP: `queueLimit` answers 429, `concurrency` bounds runs.

The contract: docs/reference/execution.md#concurrency and docs/reference/limits.md.

The asynchronous tests run on SQLite and on PostgreSQL (when HOOKLINE_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest

from hookline.engine.flows import FlowCache
from hookline.models import ExecutionStatus, JobStatus
from hookline.nodes.base import NodeContext, Outcome
from hookline.queue.worker import WorkerPool
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore
from hookline.types import JsonObject
from tests._waiting import wait_until
from tests._workflows import chain
from tests.integration._node_types import AnyConfigNode, registered
from tests.integration.conftest import Server

WITHIN = 20.0
"""The most a test waits for something the workers do at once (far above what it takes)."""


class HoldNode(AnyConfigNode):
    """Test node: waits until released, keeping count of how many of its runs overlap."""

    type: ClassVar[str] = "limit-hold"
    running: ClassVar[int] = 0
    most_running: ClassVar[int] = 0
    entered: ClassVar[asyncio.Event]
    release: ClassVar[asyncio.Event]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        cls = type(self)
        cls.running += 1
        cls.most_running = max(cls.most_running, cls.running)
        cls.entered.set()
        try:
            await cls.release.wait()
        finally:
            cls.running -= 1
        return Outcome(JobStatus.RESOLVED, None)


class PassNode(AnyConfigNode):
    """Test node: resolves at once."""

    type: ClassVar[str] = "limit-pass"

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        return Outcome(JobStatus.RESOLVED, None)


@pytest.fixture(autouse=True)
def limit_nodes() -> Iterator[None]:
    """Register the test node types, with fresh counters and events, for one test."""
    HoldNode.running = HoldNode.most_running = 0
    HoldNode.entered, HoldNode.release = asyncio.Event(), asyncio.Event()
    with registered(HoldNode(), PassNode()):
        yield


def limited(*kinds: str, sync: bool = False, **options: int) -> JsonObject:
    """Workflow JSON chaining nodes of these types, with these options (e.g. queueLimit=2)."""
    return {**chain(*kinds, sync=sync), "options": options}


async def statuses(store: SqlStore, key: str) -> list[ExecutionStatus]:
    """The statuses of a key's executions, oldest first."""
    found = await store.list_executions(ExecutionFilter(workflow_key=key, limit=1000))
    return [e.status for e in reversed(found)]


def rejections(server: Server, reason: str) -> float:
    """How many webhook requests the metrics counted as refused for this reason."""
    return sum(
        sample.value
        for metric in server.runtime.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "hookline_webhook_rejections_total" and sample.labels["reason"] == reason
    )


# -- queueLimit ------------------------------------------------------------------------------


async def test_full_queue_answers_429_and_records_nothing(make_server: Any, database: dict[str, str]) -> None:
    """Beyond queueLimit the webhook answers 429, Retry-After and a JSON error; drained, it accepts again."""
    async with make_server(workers=0, **database) as server:
        store = server.runtime.store
        key = await server.load(limited("limit-pass", queueLimit=2))
        for n in range(2):
            assert (await server.post(key, json={"n": n})).status_code == 200
        full = await server.post(key, json={"n": 2})
        assert full.status_code == 429
        assert full.headers["retry-after"] == "1"
        assert full.headers["content-type"] == "application/json"
        assert "x-hookline-execution" not in full.headers
        body = full.json()
        assert body["error"]["code"] == "queue_full"
        assert "2 requests waiting" in body["error"]["message"]
        recorded = await store.list_executions(ExecutionFilter(workflow_key=key))
        assert sorted(e.context["body"]["n"] for e in recorded) == [0, 1]
        assert rejections(server, "queue_full") == 1

        drained = WorkerPool(store, FlowCache(store), concurrency=4, poll_seconds=0.05)
        await asyncio.wait_for(drained.drain(), WITHIN)
        assert await statuses(store, key) == [ExecutionStatus.RESOLVED] * 2
        assert (await server.post(key, json={"n": 3})).status_code == 200


async def test_a_burst_is_cut_at_the_queue_limit(make_server: Any, database: dict[str, str]) -> None:
    """Of 40 simultaneous requests to a workflow with queueLimit 5, exactly 5 are accepted."""
    async with make_server(workers=0, **database) as server:
        key = await server.load(limited("limit-pass", queueLimit=5))
        other = await server.load(limited("limit-pass", queueLimit=5))
        answers = await asyncio.gather(
            *(server.post(k, json={"n": n}) for n in range(20) for k in (key, other))
        )
        codes = [answer.status_code for answer in answers]
        assert (codes.count(200), codes.count(429)) == (10, 30)
        assert await statuses(server.runtime.store, key) == [ExecutionStatus.QUEUED] * 5
        assert await statuses(server.runtime.store, other) == [ExecutionStatus.QUEUED] * 5
        assert rejections(server, "queue_full") == 30


async def test_a_full_queue_holds_back_no_other_workflow(make_server: Any) -> None:
    """A workflow without the option queues what arrives (up to the default) while another one's is full."""
    async with make_server(workers=0) as server:
        bounded = await server.load(limited("limit-pass", queueLimit=1))
        free = await server.load(chain("limit-pass"))
        assert (await server.post(bounded, json={})).status_code == 200
        assert (await server.post(bounded, json={})).status_code == 429
        codes = [(await server.post(free, json={})).status_code for _ in range(5)]
        assert codes == [200] * 5


# -- the default queue limits ----------------------------------------------------------------


async def test_a_workflow_without_queue_limit_gets_the_default(
    make_server: Any, database: dict[str, str]
) -> None:
    """With HOOKLINE_QUEUE_LIMIT 3 a burst to a workflow without queueLimit queues 3, the rest get 429."""
    async with make_server(workers=0, queue_limit=3, **database) as server:
        key = await server.load(chain("limit-pass"))
        other = await server.load(chain("limit-pass"))
        answers = await asyncio.gather(*(server.post(key, json={"n": n}) for n in range(10)))
        codes = [answer.status_code for answer in answers]
        assert (codes.count(200), codes.count(429)) == (3, 7)
        refused = answers[codes.index(429)]
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == {
            "code": "queue_full",
            "message": "This workflow already has 3 requests waiting, its limit; try again later.",
        }
        assert await statuses(server.runtime.store, key) == [ExecutionStatus.QUEUED] * 3
        assert rejections(server, "queue_full") == 7
        assert (await server.post(other, json={})).status_code == 200


async def test_the_total_limit_stops_a_flood_over_several_workflows(
    make_server: Any, database: dict[str, str]
) -> None:
    """With HOOKLINE_QUEUE_LIMIT_TOTAL 10, 40 requests at once over four workflows queue 10 in all."""
    async with make_server(workers=0, queue_limit_total=10, **database) as server:
        keys = [await server.load(chain("limit-pass")) for _ in range(3)]
        keys.append(await server.load(limited("limit-pass", queueLimit=100)))  # counted in the total too
        answers = await asyncio.gather(*(server.post(k, json={"n": n}) for n in range(10) for k in keys))
        codes = [answer.status_code for answer in answers]
        assert (codes.count(200), codes.count(429)) == (10, 30)
        refused = answers[codes.index(429)]
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == {
            "code": "queue_full",
            "message": "10 requests are already waiting across all workflows, the limit; try again later.",
        }
        recorded = await server.runtime.store.list_executions(ExecutionFilter(limit=1000))
        assert len(recorded) == 10
        assert rejections(server, "queue_full") == 30


async def test_a_drained_queue_accepts_again_from_the_next_count(
    make_server: Any, database: dict[str, str]
) -> None:
    """Once the workers drained a queue full at the default limit, the backlog's next count frees it."""
    async with make_server(workers=0, queue_limit=2, **database) as server:
        store = server.runtime.store
        key = await server.load(chain("limit-pass"))
        codes = [(await server.post(key, json={"n": n})).status_code for n in range(3)]
        assert codes == [200, 200, 429]
        drained = WorkerPool(store, FlowCache(store), concurrency=4, poll_seconds=0.05)
        await asyncio.wait_for(drained.drain(), WITHIN)
        await server.runtime.backlog.refresh()
        assert (await server.post(key, json={"n": 3})).status_code == 200
        assert await statuses(store, key) == [ExecutionStatus.RESOLVED] * 2 + [ExecutionStatus.QUEUED]


async def test_a_restart_over_a_full_queue_refuses_from_the_first_request(
    make_server: Any, database: dict[str, str]
) -> None:
    """A server started on a database whose queue is at the default limit refuses its first request."""
    async with make_server(workers=0, queue_limit=2, **database) as server:
        key = await server.load(chain("limit-pass"))
        assert [(await server.post(key, json={})).status_code for _ in range(2)] == [200, 200]
    async with make_server(workers=0, queue_limit=2, **database) as restarted:
        assert (await restarted.post(key, json={})).status_code == 429
        assert await statuses(restarted.runtime.store, key) == [ExecutionStatus.QUEUED] * 2


async def test_a_duplicate_gets_its_original_answer_from_a_full_queue(
    make_server: Any, database: dict[str, str]
) -> None:
    """Past the default limit a new event gets 429, a repeat its original's answer; one is recorded."""
    workflow = {**chain("limit-pass"), "options": {"dedupe": {"source": "headers.idempotency-key"}}}
    async with make_server(workers=0, queue_limit=1, **database) as server:
        key = await server.load(workflow)
        first = await server.post(key, json={}, headers={"Idempotency-Key": "a"})
        again = await server.post(key, json={}, headers={"Idempotency-Key": "a"})
        new = await server.post(key, json={}, headers={"Idempotency-Key": "b"})
        assert (first.status_code, again.status_code, new.status_code) == (200, 200, 429)
        assert again.headers["x-hookline-duplicate"] == "true"
        assert again.headers["x-hookline-execution"] == first.headers["x-hookline-execution"]
        assert new.json()["error"]["code"] == "queue_full"
        assert await statuses(server.runtime.store, key) == [ExecutionStatus.QUEUED]


async def test_the_default_limit_counts_what_other_processes_queued(
    make_server: Any, postgres_url: str, postgres_store: SqlStore
) -> None:
    """Two servers on one PostgreSQL database: what one queued counts for the other from its next count."""
    settings = {"workers": 0, "queue_limit": 3, "database_url": postgres_url}
    async with make_server(**settings) as first, make_server(**settings) as second:
        key = await first.load(chain("limit-pass"))
        for n in range(2):
            assert (await first.post(key, json={"n": n})).status_code == 200
        await second.runtime.backlog.refresh()
        assert [(await second.post(key, json={"n": n})).status_code for n in (2, 3)] == [200, 429]
        await first.runtime.backlog.refresh()
        assert (await first.post(key, json={"n": 4})).status_code == 429
        assert await statuses(postgres_store, key) == [ExecutionStatus.QUEUED] * 3


# -- concurrency -----------------------------------------------------------------------------


async def test_concurrency_one_runs_one_at_a_time_while_others_run(
    make_server: Any, database: dict[str, str]
) -> None:
    """With concurrency 1 the runs of a workflow never overlap; the rest wait queued, others run meanwhile."""
    async with make_server(**database) as server:
        store = server.runtime.store
        key = await server.load(limited("limit-hold", "limit-pass", concurrency=1))
        free = await server.load(chain("limit-pass", "limit-pass"))
        for n in range(3):
            assert (await server.post(key, json={"n": n})).status_code == 200
        await asyncio.wait_for(HoldNode.entered.wait(), WITHIN)
        for n in range(4):
            assert (await server.post(free, json={"n": n})).status_code == 200

        async def free_ones_done() -> bool:
            return await statuses(store, free) == [ExecutionStatus.RESOLVED] * 4

        await wait_until(free_ones_done, "the other workflow's executions resolved", WITHIN)
        assert await statuses(store, key) == [
            ExecutionStatus.STARTED,
            ExecutionStatus.QUEUED,
            ExecutionStatus.QUEUED,
        ]
        assert HoldNode.running == 1

        HoldNode.release.set()

        async def limited_ones_done() -> bool:
            return await statuses(store, key) == [ExecutionStatus.RESOLVED] * 3

        await wait_until(limited_ones_done, "the limited executions resolved", WITHIN)
        assert HoldNode.most_running == 1


async def test_concurrency_two_runs_two_at_once(make_server: Any, database: dict[str, str]) -> None:
    """With concurrency 2 exactly two runs of the workflow are in flight while they hold."""
    async with make_server(**database) as server:
        store = server.runtime.store
        key = await server.load(limited("limit-hold", concurrency=2))
        for n in range(5):
            assert (await server.post(key, json={"n": n})).status_code == 200

        async def two_running() -> bool:
            return (await statuses(store, key)).count(ExecutionStatus.STARTED) == 2 and HoldNode.running == 2

        await wait_until(two_running, "two executions run", WITHIN)
        # However hard another worker asks, the key has no place left.
        assert await store.claim_executions("probe", limit=5, lease_seconds=5.0, now=datetime.now(UTC)) == []
        assert (await statuses(store, key)).count(ExecutionStatus.QUEUED) == 3
        HoldNode.release.set()

        async def all_done() -> bool:
            return await statuses(store, key) == [ExecutionStatus.RESOLVED] * 5

        await wait_until(all_done, "every execution resolved", WITHIN)
        assert HoldNode.most_running == 2


async def test_sync_run_over_its_concurrency_answers_429(make_server: Any) -> None:
    """A synchronous request beyond concurrency answers 429 with Retry-After; nothing of it is recorded."""
    async with make_server(poll_seconds=2.5) as server:
        store = server.runtime.store
        key = await server.load(limited("limit-hold", sync=True, concurrency=1))
        first = asyncio.create_task(server.post(key, json={"n": 1}))
        await asyncio.wait_for(HoldNode.entered.wait(), WITHIN)
        busy = await server.post(key, json={"n": 2})
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "3"  # one poll interval, rounded up
        assert busy.json()["error"]["code"] == "concurrency_limit"
        assert rejections(server, "concurrency_limit") == 1
        HoldNode.release.set()
        assert (await asyncio.wait_for(first, WITHIN)).status_code == 200
        assert (await server.post(key, json={"n": 3})).status_code == 200
        recorded = await store.list_executions(ExecutionFilter(workflow_key=key))
        assert sorted(e.context["body"]["n"] for e in recorded) == [1, 3]
        assert HoldNode.most_running == 1


async def test_sync_workflows_without_the_option_run_side_by_side(make_server: Any) -> None:
    """Synchronous runs of a workflow without a concurrency option are not limited."""
    async with make_server() as server:
        key = await server.load(chain("limit-hold", sync=True))
        calls = [asyncio.create_task(server.post(key, json={"n": n})) for n in range(3)]

        async def three_in_flight() -> bool:
            return HoldNode.running == 3

        await wait_until(three_in_flight, "three runs are in flight", WITHIN)
        HoldNode.release.set()
        answers: list[httpx.Response] = await asyncio.wait_for(asyncio.gather(*calls), WITHIN)
        assert [a.status_code for a in answers] == [200] * 3
