"""Idempotency keys in the store, on SQLite and PostgreSQL: claims, answers, expiry and races."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from hookline.ids import new_id
from hookline.models import DedupeHolder, DedupeKey, ExecutionStatus, Flow, Limits
from hookline.queue.janitor import Janitor
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore
from tests._factories import NOW, make_execution, make_job

SECOND = timedelta(seconds=1)
ANSWER = {"statusCode": 202, "headers": [{"name": "X-Order", "value": "7"}], "body": {"accepted": True}}


def key(name: str, seconds: float = 60) -> DedupeKey:
    """A dedupe key that expires `seconds` after NOW."""
    return DedupeKey(f"key-{name}", NOW + timedelta(seconds=seconds))


async def executions_of(store: SqlStore, flow: Flow) -> list[int]:
    """The ids of a flow's executions, oldest first."""
    found = await store.list_executions(ExecutionFilter(workflow_key=flow.workflow.key, limit=1000))
    return sorted(e.id for e in found)


# -- synchronous claims ----------------------------------------------------------------------


async def test_a_free_key_is_claimed_without_an_answer(store: SqlStore) -> None:
    """The first claim takes the key; until it is answered its holder has no response."""
    holder = await store.claim_dedupe_key(key("a"), 11, now=NOW)
    assert holder == DedupeHolder(11, None)
    assert await store.get_dedupe_holder("key-a", now=NOW) == DedupeHolder(11, None)
    assert await store.get_dedupe_holder("key-other", now=NOW) is None


async def test_a_live_key_keeps_its_holder(store: SqlStore) -> None:
    """A second claim of a live key takes nothing and names the first holder."""
    await store.claim_dedupe_key(key("a"), 11, now=NOW)
    assert await store.claim_dedupe_key(key("a"), 12, now=NOW + SECOND) == DedupeHolder(11, None)
    assert await store.get_dedupe_holder("key-a", now=NOW + SECOND) == DedupeHolder(11, None)


async def test_recording_the_execution_stores_its_answer_under_the_key(store: SqlStore, flow: Flow) -> None:
    """`add_execution` with the key stores the answer and the new expiry in the same write."""
    execution = make_execution(flow, status=ExecutionStatus.RESOLVED, response=ANSWER, finished_at=NOW)
    await store.claim_dedupe_key(key("a", 5), execution.id, now=NOW)
    await store.add_execution(execution, dedupe=key("a", 3600))
    assert await store.get_execution(execution.id) is not None
    later = NOW + timedelta(seconds=600)
    assert await store.get_dedupe_holder("key-a", now=later) == DedupeHolder(execution.id, ANSWER)
    assert await store.claim_dedupe_key(key("a"), 99, now=later) == DedupeHolder(execution.id, ANSWER)


async def test_an_expired_key_is_claimed_again(store: SqlStore) -> None:
    """Once its window has passed the key is free: the next claim takes it over."""
    await store.claim_dedupe_key(key("a", 1), 11, now=NOW)
    after = NOW + 2 * SECOND
    assert await store.get_dedupe_holder("key-a", now=after) is None
    assert await store.claim_dedupe_key(DedupeKey("key-a", after + SECOND), 12, now=after) == DedupeHolder(
        12, None
    )


async def test_a_claim_taken_over_is_not_answered_by_its_first_holder(store: SqlStore, flow: Flow) -> None:
    """A run that outlived its claim is still recorded, but the key keeps its new holder."""
    slow = make_execution(flow, status=ExecutionStatus.RESOLVED, response=ANSWER, finished_at=NOW)
    await store.claim_dedupe_key(key("a", 1), slow.id, now=NOW)
    after = NOW + 2 * SECOND
    await store.claim_dedupe_key(DedupeKey("key-a", after + 60 * SECOND), 12, now=after)
    await store.add_execution(slow, dedupe=key("a", 3600))
    assert await store.get_execution(slow.id) is not None
    assert await store.get_dedupe_holder("key-a", now=after) == DedupeHolder(12, None)


async def test_release_frees_only_an_unanswered_claim_of_its_holder(store: SqlStore, flow: Flow) -> None:
    """Releasing frees a pending claim; another holder's claim and an answered key stay."""
    await store.claim_dedupe_key(key("a"), 11, now=NOW)
    await store.release_dedupe_key("key-a", 12)
    assert await store.get_dedupe_holder("key-a", now=NOW) == DedupeHolder(11, None)
    await store.release_dedupe_key("key-a", 11)
    assert await store.get_dedupe_holder("key-a", now=NOW) is None

    answered = make_execution(flow, status=ExecutionStatus.RESOLVED, response=ANSWER, finished_at=NOW)
    await store.claim_dedupe_key(key("b"), answered.id, now=NOW)
    await store.add_execution(answered, dedupe=key("b"))
    await store.release_dedupe_key("key-b", answered.id)
    assert await store.get_dedupe_holder("key-b", now=NOW) == DedupeHolder(answered.id, ANSWER)


# -- queued executions -----------------------------------------------------------------------


async def test_a_duplicate_execution_is_not_stored(store: SqlStore, flow: Flow) -> None:
    """The first execution with a key is stored and holds it; the second gets that holder, nothing stored."""
    first = make_execution(flow, response=ANSWER)
    second = make_execution(flow, response={"statusCode": 200, "headers": [], "body": "other"})
    assert await store.add_deduplicated_execution(first, key("a"), None, now=NOW) == DedupeHolder(
        first.id, ANSWER
    )
    assert await store.add_deduplicated_execution(second, key("a"), None, now=NOW) == DedupeHolder(
        first.id, ANSWER
    )
    assert await executions_of(store, flow) == [first.id]
    stored = await store.get_execution(first.id)
    assert stored is not None
    assert stored.status is ExecutionStatus.QUEUED


async def test_a_finished_execution_is_stored_with_its_jobs_only_when_it_takes_the_key(
    store: SqlStore, flow: Flow
) -> None:
    """An execution run before its answer comes with its jobs: stored together when it takes the key,
    neither of them when the key is held."""
    first = make_execution(flow, status=ExecutionStatus.RESOLVED, response=ANSWER, finished_at=NOW)
    second = make_execution(flow, status=ExecutionStatus.RESOLVED, response=ANSWER, finished_at=NOW)
    first_jobs = [make_job(first, node_key="a"), make_job(first, node_key="b", result={"n": 1})]
    holder = await store.add_deduplicated_execution(first, key("a"), None, now=NOW, jobs=first_jobs)
    assert holder == DedupeHolder(first.id, ANSWER)
    second_jobs = [make_job(second, node_key="a")]
    holder = await store.add_deduplicated_execution(second, key("a"), None, now=NOW, jobs=second_jobs)
    assert holder == DedupeHolder(first.id, ANSWER)
    assert await executions_of(store, flow) == [first.id]
    assert await store.list_jobs(first.id) == first_jobs
    assert await store.list_jobs(second.id) == []
    stored = await store.get_execution(first.id)
    assert stored is not None
    assert stored.status is ExecutionStatus.RESOLVED


async def test_an_expired_key_accepts_a_new_execution(store: SqlStore, flow: Flow) -> None:
    """After the window the same key queues a new execution, which then holds it."""
    first, second = make_execution(flow, response=ANSWER), make_execution(flow, response=ANSWER)
    await store.add_deduplicated_execution(first, key("a", 1), None, now=NOW)
    after = NOW + 2 * SECOND
    renewed = DedupeKey("key-a", after + 60 * SECOND)
    assert await store.add_deduplicated_execution(second, renewed, None, now=after) == DedupeHolder(
        second.id, ANSWER
    )
    assert await executions_of(store, flow) == sorted([first.id, second.id])


async def test_a_full_queue_stores_nothing_and_leaves_the_key_free(store: SqlStore, flow: Flow) -> None:
    """Refused by its queue limit, an execution is not stored and its key stays free; duplicates answer."""
    bounded = Limits(queue_limit=1)
    accepted = make_execution(flow, response=ANSWER)
    assert await store.add_deduplicated_execution(accepted, key("a"), bounded, now=NOW) is not None
    refused = make_execution(flow, response=ANSWER)
    assert await store.add_deduplicated_execution(refused, key("b"), bounded, now=NOW) is None
    assert await store.get_dedupe_holder("key-b", now=NOW) is None
    duplicate = make_execution(flow, response=ANSWER)
    assert await store.add_deduplicated_execution(duplicate, key("a"), bounded, now=NOW) == DedupeHolder(
        accepted.id, ANSWER
    )
    assert await executions_of(store, flow) == [accepted.id]


# -- races -----------------------------------------------------------------------------------


async def test_concurrent_claims_from_two_stores_have_one_winner(
    store: SqlStore, second_store: SqlStore
) -> None:
    """Twenty claims of each of five keys, from two stores at once: each key has one holder for all."""
    claims = [
        source.claim_dedupe_key(key(f"k{k}"), 1000 * k + n, now=NOW)
        for n in range(20)
        for k in range(5)
        for source in (store, second_store)
    ]
    holders = await asyncio.wait_for(asyncio.gather(*claims), 30)
    by_key: dict[int, set[int]] = {}
    for holder in holders:
        by_key.setdefault(holder.execution_id // 1000, set()).add(holder.execution_id)
    assert {k: len(ids) for k, ids in by_key.items()} == dict.fromkeys(range(5), 1)


async def test_concurrent_duplicates_from_two_stores_store_one_execution_per_key(
    store: SqlStore, second_store: SqlStore, flow: Flow
) -> None:
    """Forty keys, each offered three times by both stores at once (in batches): one execution per key."""
    keys = [f"race-{n}" for n in range(40)]
    offers = []
    for n in range(3):
        for source in (store, second_store):
            # Each store sees the keys in another order, so batches overlap both ways.
            order = keys if (n + (source is store)) % 2 else list(reversed(keys))
            for name in order:
                execution = make_execution(flow, response={"statusCode": 202, "headers": [], "body": name})
                offers.append(source.add_deduplicated_execution(execution, key(name), None, now=NOW))
    holders = await asyncio.wait_for(asyncio.gather(*offers), 60)
    winners = Counter(holder.response["body"] for holder in holders if holder.response)
    assert winners == dict.fromkeys(keys, 6)
    assert len({holder.execution_id for holder in holders}) == len(keys)
    assert sorted(await executions_of(store, flow)) == sorted({holder.execution_id for holder in holders})


# -- expiry ----------------------------------------------------------------------------------


async def test_expired_keys_are_deleted_in_batches(store: SqlStore) -> None:
    """The janitor deletes the expired keys batch by batch and keeps the live ones."""
    for n in range(7):
        await store.claim_dedupe_key(key(f"old{n}", 1), new_id(), now=NOW)
    await store.claim_dedupe_key(key("live", 3600), 5, now=NOW)
    later = NOW + timedelta(seconds=10)
    assert await store.delete_expired_dedupe_keys(later, limit=3) == 3
    assert await Janitor(store, batch=2).delete_expired_keys(later) == 4
    assert await store.delete_expired_dedupe_keys(later, limit=3) == 0
    assert await store.get_dedupe_holder("key-live", now=later) == DedupeHolder(5, None)
    # A deleted key is free: claiming it again takes it.
    assert await store.claim_dedupe_key(key("old0", 3600), 6, now=later) == DedupeHolder(6, None)
