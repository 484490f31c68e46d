"""Idempotency through HTTP (docs/idempotency.md): a duplicate runs nothing and gets the original's answer.

Most tests run on SQLite and on PostgreSQL (when HOOKLINE_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest

from hookline.engine import dispatcher
from hookline.ids import new_id
from hookline.models import DedupeKey, JobStatus
from hookline.nodes.base import NodeContext, Outcome
from hookline.store.execution_history import ExecutionFilter, RetentionRule
from hookline.trigger.dedupe import RequestKey
from hookline.types import JsonObject
from tests.integration._node_types import AnyConfigNode, registered
from tests.integration.conftest import Server

WITHIN = 20.0
"""The most a test waits for something that happens at once (far above what it takes)."""
ASYNC_ANSWER = {
    "statusCode": 202,
    "headers": [{"name": "X-N", "value": "{{$context.body.n}}"}],
    "body": {"accepted": "{{$context.body.n}}"},
}
SYNC_ANSWER = {
    "statusCode": 201,
    "headers": [{"name": "X-N", "value": "{{$context.body.n}}"}],
    "body": {"n": "{{$context.body.n}}"},
}


class CountNode(AnyConfigNode):
    """Test node: counts its runs; with `hold`, waits until released."""

    type: ClassVar[str] = "dedupe-count"
    runs: ClassVar[int] = 0
    entered: ClassVar[asyncio.Event]
    release: ClassVar[asyncio.Event]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        cls = type(self)
        cls.runs += 1
        cls.entered.set()
        if config.get("hold"):
            await cls.release.wait()
        return Outcome(JobStatus.RESOLVED, None)


@pytest.fixture(autouse=True)
def count_node() -> Iterator[None]:
    """Register the counting node type, with a fresh count and events, for one test."""
    CountNode.runs = 0
    CountNode.entered, CountNode.release = asyncio.Event(), asyncio.Event()
    with registered(CountNode()):
        yield


def deduped(
    *, sync: bool, hold: bool = False, source: str = "headers.idempotency-key", **options: Any
) -> JsonObject:
    """Workflow JSON with `options.dedupe` on `source` (plus other options, e.g. window=1).

    Synchronous: a counting node, then a Response node answering 201 with `n` from the body.
    Asynchronous: the counting node, answered 202 with `n` by the trigger's response.
    """
    window = options.pop("window", None)
    dedupe = {"source": source} if window is None else {"source": source, "window": window}
    nodes: list[JsonObject] = [
        {
            "key": "count",
            "type": "dedupe-count",
            "upstream": None,
            "branchIndex": None,
            "config": {"hold": hold},
        }
    ]
    if sync:
        nodes.append(
            {
                "key": "answer",
                "type": "response",
                "upstream": "count",
                "branchIndex": None,
                "config": SYNC_ANSWER,
            }
        )
    return {
        "title": "deduped",
        "type": "webhook",
        "sync": sync,
        "enabled": True,
        "config": {} if sync else {"response": ASYNC_ANSWER},
        "options": {"dedupe": dedupe, **options},
        "nodes": nodes,
    }


async def post(server: Server, key: str, idempotency: str | None, n: int) -> httpx.Response:
    """POST `{"n": n}`, with an `Idempotency-Key` header when given."""
    headers = {} if idempotency is None else {"Idempotency-Key": idempotency}
    return await server.post(key, json={"n": n}, headers=headers)


def answer_of(response: httpx.Response) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
    """Status, headers (without the duplicate marker) and body: what a duplicate must repeat."""
    headers = sorted((k, v) for k, v in response.headers.items() if k != "x-hookline-duplicate")
    return response.status_code, tuple(headers), response.content


async def execution_ids(server: Server, key: str) -> list[int]:
    """The ids of a workflow's executions, oldest first."""
    found = await server.runtime.store.list_executions(ExecutionFilter(workflow_key=key, limit=1000))
    return sorted(e.id for e in found)


async def test_async_duplicate_gets_the_original_answer_and_queues_nothing(
    make_server: Any, database: dict[str, str]
) -> None:
    """The second request with a key gets the first one's status, headers, body and execution id."""
    async with make_server(workers=0, **database) as server:
        key = await server.load(deduped(sync=False))
        first = await post(server, key, "order-1", 1)
        second = await post(server, key, "order-1", 2)
        assert first.status_code == 202
        assert first.json() == {"accepted": 1}
        assert "x-hookline-duplicate" not in first.headers
        assert second.headers["x-hookline-duplicate"] == "true"
        assert answer_of(second) == answer_of(first)
        original = int(first.headers["x-hookline-execution"])
        assert await execution_ids(server, key) == [original]
        stored = await server.runtime.store.get_execution(original)
        assert stored is not None
        assert stored.event_key == f"{key}:order-1:{original}"


async def test_sync_duplicate_gets_the_stored_answer_and_runs_nothing(
    make_server: Any, database: dict[str, str]
) -> None:
    """A synchronous duplicate repeats the Response node's answer; the workflow ran once, one set of jobs."""
    async with make_server(**database) as server:
        key = await server.load(deduped(sync=True))
        first = await post(server, key, "order-1", 1)
        second = await post(server, key, "order-1", 2)
        assert (first.status_code, first.json(), first.headers["x-n"]) == (201, {"n": 1}, "1")
        assert answer_of(second) == answer_of(first)
        assert second.headers["x-hookline-duplicate"] == "true"
        assert CountNode.runs == 1
        [original] = await execution_ids(server, key)
        assert original == int(first.headers["x-hookline-execution"])
        jobs = await server.runtime.store.list_jobs(original)
        assert [job.node_key for job in jobs] == ["count", "answer"]


async def test_requests_without_the_key_all_run(make_server: Any, database: dict[str, str]) -> None:
    """When the source header is missing the request is not deduplicated: each one runs."""
    async with make_server(**database) as server:
        key = await server.load(deduped(sync=True))
        answers = [await post(server, key, None, n) for n in range(3)]
        assert [a.json() for a in answers] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert all("x-hookline-duplicate" not in a.headers for a in answers)
        assert len(await execution_ids(server, key)) == 3
        assert CountNode.runs == 3


async def test_a_body_path_can_be_the_key(make_server: Any) -> None:
    """With `body.order.id` as the source, the same order id is one event whatever the headers."""
    async with make_server(workers=0) as server:
        key = await server.load(deduped(sync=False, source="body.order.id"))
        first = await server.post(key, json={"order": {"id": 7}, "n": 1}, headers={"X-Request-Id": "a"})
        again = await server.post(key, json={"order": {"id": 7}, "n": 2}, headers={"X-Request-Id": "b"})
        other = await server.post(key, json={"order": {"id": 8}, "n": 3})
        assert again.headers["x-hookline-execution"] == first.headers["x-hookline-execution"]
        assert other.headers["x-hookline-execution"] != first.headers["x-hookline-execution"]
        assert len(await execution_ids(server, key)) == 2


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_after_the_window_the_key_runs_again(
    make_server: Any, database: dict[str, str], sync: bool
) -> None:
    """With a 2 s window, the same key is a duplicate at once and a new event once the window has passed."""
    async with make_server(workers=0, **database) as server:
        key = await server.load(deduped(sync=sync, window=2))
        first = int((await post(server, key, "k", 1)).headers["x-hookline-execution"])
        again = await post(server, key, "k", 2)
        assert again.headers["x-hookline-duplicate"] == "true"
        latest, later = int(again.headers["x-hookline-execution"]), again
        async with asyncio.timeout(WITHIN):
            while latest == first:  # the window is measured by the clock: poll until it has passed
                await asyncio.sleep(0.05)
                later = await post(server, key, "k", 3)
                latest = int(later.headers["x-hookline-execution"])
        assert "x-hookline-duplicate" not in later.headers
        assert later.json() == ({"n": 3} if sync else {"accepted": 3})
        assert await execution_ids(server, key) == [first, latest]


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_simultaneous_duplicates_run_once(
    make_server: Any, database: dict[str, str], sync: bool
) -> None:
    """Twelve requests with one key sent at once (and twelve with another): one execution per key."""
    async with make_server(workers=0, **database) as server:
        key = await server.load(deduped(sync=sync))
        answers = await asyncio.wait_for(
            asyncio.gather(*(post(server, key, f"k{n % 2}", n) for n in range(24))), WITHIN
        )
        by_key: dict[str, set[Any]] = {}
        for n, answer in enumerate(answers):
            by_key.setdefault(f"k{n % 2}", set()).add(answer_of(answer))
        assert [len(found) for found in by_key.values()] == [1, 1]
        ids = {int(a.headers["x-hookline-execution"]) for a in answers}
        assert sorted(ids) == await execution_ids(server, key)
        assert len(ids) == 2
        assert sum("x-hookline-duplicate" in a.headers for a in answers) == 22
        if sync:
            assert CountNode.runs == 2


async def test_a_duplicate_waits_for_a_running_original(make_server: Any, database: dict[str, str]) -> None:
    """A duplicate arriving while the synchronous original runs waits, then gets its answer."""
    async with make_server(**database) as server:
        key = await server.load(deduped(sync=True, hold=True))
        original = asyncio.create_task(post(server, key, "slow", 1))
        await asyncio.wait_for(CountNode.entered.wait(), WITHIN)
        duplicate = asyncio.create_task(post(server, key, "slow", 2))
        done, _ = await asyncio.wait([duplicate], timeout=0.2)
        assert not done, "the duplicate answered before its original finished"
        CountNode.release.set()
        first, second = await asyncio.wait_for(asyncio.gather(original, duplicate), WITHIN)
        assert first.json() == {"n": 1}
        assert answer_of(second) == answer_of(first)
        assert CountNode.runs == 1


async def test_a_claim_that_is_never_answered_refuses_then_expires(
    make_server: Any, database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key held by a run that never records (its process died) answers 409 until the claim expires."""
    monkeypatch.setattr(dispatcher, "DUPLICATE_WAIT", 0.1)
    async with make_server(**database) as server:
        key = await server.load(deduped(sync=True))
        digest = RequestKey(key, "lost", 60).digest
        now = datetime.now(UTC)
        await server.runtime.store.claim_dedupe_key(
            DedupeKey(digest, now + timedelta(seconds=3)), new_id(), now=now
        )
        refused = await post(server, key, "lost", 1)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "duplicate_in_progress"
        assert refused.headers["retry-after"] == "1"
        assert "x-hookline-execution" not in refused.headers
        async with asyncio.timeout(WITHIN):
            answer = refused
            while answer.status_code == 409:  # the claim's expiry is measured by the clock: poll it
                answer = await post(server, key, "lost", 2)
        assert (answer.status_code, answer.json()) == (201, {"n": 2})
        assert CountNode.runs == 1


async def test_a_refused_run_frees_its_key(make_server: Any) -> None:
    """A synchronous run refused by its concurrency limit frees its key: its retry runs, as no duplicate."""
    async with make_server() as server:
        key = await server.load(deduped(sync=True, hold=True, concurrency=1))
        holding = asyncio.create_task(post(server, key, "a", 1))
        await asyncio.wait_for(CountNode.entered.wait(), WITHIN)
        busy = await post(server, key, "b", 2)
        assert busy.status_code == 429
        CountNode.release.set()
        assert (await asyncio.wait_for(holding, WITHIN)).status_code == 201
        retried = await post(server, key, "b", 3)
        assert (retried.status_code, retried.json()) == (201, {"n": 3})
        assert "x-hookline-duplicate" not in retried.headers


async def test_a_full_queue_refuses_new_keys_but_answers_duplicates(
    make_server: Any, database: dict[str, str]
) -> None:
    """At its queueLimit a workflow answers 429 to a new key, and the original's answer to a duplicate."""
    async with make_server(workers=0, **database) as server:
        key = await server.load(deduped(sync=False, queueLimit=1))
        accepted = await post(server, key, "a", 1)
        assert accepted.status_code == 202
        assert (await post(server, key, "b", 2)).status_code == 429
        duplicate = await post(server, key, "a", 3)
        assert answer_of(duplicate) == answer_of(accepted)
        assert len(await execution_ids(server, key)) == 1


async def test_the_answer_outlives_the_original_execution(make_server: Any, database: dict[str, str]) -> None:
    """Retention deleting the original execution does not make its key run again: the answer is kept."""
    async with make_server(**database) as server:
        key = await server.load(deduped(sync=True))
        first = await post(server, key, "kept", 1)
        store = server.runtime.store
        [original] = await execution_ids(server, key)
        workflow_ids = tuple(w.id for w in await store.list_versions(key))
        later = datetime.now(UTC) + timedelta(hours=1)
        assert await store.delete_executions(RetentionRule(workflow_ids, later), limit=10) == 1
        duplicate = await post(server, key, "kept", 2)
        assert answer_of(duplicate) == answer_of(first)
        assert int(duplicate.headers["x-hookline-execution"]) == original
        assert await execution_ids(server, key) == []
        assert CountNode.runs == 1


async def test_a_replay_runs_again(make_server: Any) -> None:
    """Replaying a deduplicated execution is a deliberate new run: its key does not stop it."""
    async with make_server() as server:
        key = await server.load(deduped(sync=True))
        first = await post(server, key, "k", 1)
        replayed = await server.runtime.executions.replay(int(first.headers["x-hookline-execution"]))
        assert replayed.answer.body == {"n": 1}
        assert len(await execution_ids(server, key)) == 2
        assert CountNode.runs == 2
