"""Per-workflow limits in the store, on SQLite and PostgreSQL: the bounded enqueue, limited claims, counts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hookline.models import ExecutionStatus, Flow, Limits
from hookline.store.backlog import Backlog, Full
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore
from hookline.trigger.options import parse_options
from tests._factories import LEASE, NOW, make_execution, make_flow

LATER = NOW + timedelta(seconds=LEASE + 1)
"""When every claim made at NOW with the usual lease has lapsed."""


@pytest.fixture
async def flows(store: SqlStore) -> tuple[Flow, Flow, Flow]:
    """Three stored workflows: `limited`, `other` and `plain`."""
    made = (make_flow("limited"), make_flow("other"), make_flow("plain"))
    for flow in made:
        await store.add_flow(flow)
    return made


async def queue(store: SqlStore, flow: Flow, count: int, limits: Limits | None = None) -> list[int]:
    """Queue `count` executions of a flow (with limits when given); their ids, oldest first."""
    ids = []
    for _ in range(count):
        execution = make_execution(flow)
        if limits is None:
            await store.add_execution(execution)
        else:
            assert await store.add_limited_execution(execution, limits) is True
        ids.append(execution.id)
    return ids


async def statuses(store: SqlStore, key: str) -> list[ExecutionStatus]:
    """The statuses of a key's executions, oldest first."""
    found = await store.list_executions(ExecutionFilter(workflow_key=key, limit=1000))
    return [e.status for e in reversed(found)]


# -- limits from options ---------------------------------------------------------------------


def test_limits_come_from_the_options() -> None:
    """`concurrency` and `queueLimit` become Limits; without either (or with nulls) there are none."""
    assert parse_options({}).limits() is None
    assert parse_options({"timeout": 5000, "concurrency": None, "queueLimit": None}).limits() is None
    assert parse_options({"concurrency": 2}).limits() == Limits(concurrency=2)
    assert parse_options({"queueLimit": 10, "concurrency": 1}).limits() == Limits(
        concurrency=1, queue_limit=10
    )
    assert parse_options({"concurrency": True}).limits() is None


# -- the queue limit -------------------------------------------------------------------------


async def test_full_queue_refuses_and_stores_nothing(store: SqlStore, flows: tuple[Flow, ...]) -> None:
    """With a queue limit of 2, a third queued execution is refused and not stored; a claim makes room."""
    limited = flows[0]
    bounded = Limits(queue_limit=2)
    await queue(store, limited, 2, bounded)
    refused = make_execution(limited)
    assert await store.add_limited_execution(refused, bounded) is False
    assert await store.get_execution(refused.id) is None
    assert await statuses(store, "limited") == [ExecutionStatus.QUEUED] * 2

    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    assert await store.add_limited_execution(make_execution(limited), bounded) is True
    assert await store.add_limited_execution(make_execution(limited), bounded) is False


async def test_queue_limit_counts_only_its_key(store: SqlStore, flows: tuple[Flow, ...]) -> None:
    """Another key's queue, full or not, does not count against a key's limit."""
    limited, other, _ = flows
    bounded = Limits(queue_limit=1)
    await queue(store, other, 1, bounded)
    await queue(store, limited, 1, bounded)
    assert await store.add_limited_execution(make_execution(other), bounded) is False


async def test_concurrent_enqueues_never_pass_the_queue_limit(
    store: SqlStore, second_store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Enqueues racing through two stores (two writers, two transactions at once) store exactly the limit."""
    limited, other, _ = flows
    bounded = Limits(queue_limit=7)
    attempts = [
        writer.add_limited_execution(make_execution(flow), bounded)
        for _ in range(15)
        for writer in (store, second_store)
        for flow in (limited, other)  # two keys in every batch: their locks must not deadlock
    ]
    answers = await asyncio.wait_for(asyncio.gather(*attempts), 30)
    assert answers.count(True) == 14
    assert await statuses(store, "limited") == [ExecutionStatus.QUEUED] * 7
    assert await statuses(store, "other") == [ExecutionStatus.QUEUED] * 7


# -- concurrency in claims -------------------------------------------------------------------


async def test_claim_keeps_a_key_within_its_concurrency(store: SqlStore, flows: tuple[Flow, ...]) -> None:
    """With concurrency 2, two of five are claimed, then none until one finishes; the rest wait queued."""
    ids = await queue(store, flows[0], 5, Limits(concurrency=2))
    first = await store.claim_executions("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert [e.id for e in first] == ids[:2]
    assert await store.claim_executions("w2", limit=10, lease_seconds=LEASE, now=NOW) == []
    await store.finish_execution(ids[0], ExecutionStatus.RESOLVED, finished_at=NOW)
    [third] = await store.claim_executions("w2", limit=10, lease_seconds=LEASE, now=NOW)
    assert third.id == ids[2]
    assert await statuses(store, "limited") == [
        ExecutionStatus.RESOLVED,
        ExecutionStatus.STARTED,
        ExecutionStatus.STARTED,
        ExecutionStatus.QUEUED,
        ExecutionStatus.QUEUED,
    ]


async def test_a_lapsed_claim_frees_its_place_for_its_own_resumption(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """A claim whose process died no longer counts; its execution resumes first, before the queued ones."""
    ids = await queue(store, flows[0], 3, Limits(concurrency=1))
    await store.claim_executions("dead", limit=10, lease_seconds=LEASE, now=NOW)
    assert await store.claim_executions("w2", limit=10, lease_seconds=LEASE, now=NOW) == []
    [resumed] = await store.claim_executions("w2", limit=10, lease_seconds=LEASE, now=LATER)
    assert (resumed.id, resumed.attempt) == (ids[0], 2)


async def test_a_released_execution_frees_its_place(store: SqlStore, flows: tuple[Flow, ...]) -> None:
    """An execution released for a back-off holds no place while it waits; the next one runs meanwhile."""
    ids = await queue(store, flows[0], 2, Limits(concurrency=1))
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    assert await store.release_execution(ids[0], "w1", run_after=LATER, error="db down") is True
    [next_one] = await store.claim_executions("w1", limit=10, lease_seconds=LEASE * 3, now=NOW)
    assert next_one.id == ids[1]
    # Once its back-off is over it waits for the place like any other.
    assert await store.claim_executions("w1", limit=10, lease_seconds=LEASE, now=LATER) == []


async def test_a_limited_backlog_holds_back_no_other_workflow(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Behind a long limited backlog, other limited keys and unlimited executions are claimed at once."""
    limited, other, plain = flows
    backlog = await queue(store, limited, 30, Limits(concurrency=1))
    others = await queue(store, other, 3, Limits(concurrency=2))
    plains = await queue(store, plain, 4)
    claimed = await store.claim_executions("w1", limit=20, lease_seconds=LEASE, now=NOW)
    assert sorted(e.id for e in claimed) == sorted([backlog[0], *others[:2], *plains])


async def test_claim_takes_no_more_than_its_limit_from_limited_keys(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """A claim for fewer executions than the keys have places takes only that many, limited ones first."""
    limited, other, plain = flows
    await queue(store, plain, 3)
    await queue(store, limited, 3, Limits(concurrency=3))
    await queue(store, other, 3, Limits(concurrency=3))
    claimed = await store.claim_executions("w1", limit=4, lease_seconds=LEASE, now=NOW)
    assert len(claimed) == 4
    assert {e.key for e in claimed} <= {"limited", "other"}


async def test_limits_survive_a_batch_shared_with_other_executions(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Limited executions committed in one batch after an unlimited one keep their limit."""
    limited, _, plain = flows
    writes = [store.add_execution(make_execution(plain))]
    writes += [store.add_limited_execution(make_execution(limited), Limits(concurrency=1)) for _ in range(4)]
    await asyncio.gather(*writes)
    claimed = await store.claim_executions("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert sorted(e.key for e in claimed) == ["limited", "plain"]


async def test_concurrent_claims_keep_the_limit(
    store: SqlStore, second_store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Claims racing through two stores (as two processes) never start more than the limit of a key."""
    await queue(store, flows[0], 20, Limits(concurrency=3))
    claims = [
        source.claim_executions(f"w{n}", limit=2, lease_seconds=LEASE, now=NOW)
        for n in range(10)
        for source in (store, second_store)
    ]
    claimed = [e for batch in await asyncio.wait_for(asyncio.gather(*claims), 30) for e in batch]
    assert 1 <= len(claimed) <= 3
    # A claim that found the key busy with another left it alone; later claims fill the places.
    for source in (store, second_store, store):
        claimed += await source.claim_executions("w9", limit=2, lease_seconds=LEASE, now=NOW)
    assert len(claimed) == 3
    assert (await statuses(store, "limited")).count(ExecutionStatus.STARTED) == 3


async def test_a_lapsed_limited_claim_is_not_renewed(store: SqlStore, flows: tuple[Flow, ...]) -> None:
    """A lapsed claim of a limited execution is not renewed (its place may be taken); others still are."""
    limited, _, plain = flows
    [capped] = await queue(store, limited, 1, Limits(concurrency=1))
    [free] = await queue(store, plain, 1)
    await store.claim_executions("w1", limit=10, lease_seconds=LEASE, now=NOW)
    live = NOW + timedelta(seconds=LEASE / 2)
    assert await store.renew_claims("w1", [capped, free], lease_seconds=LEASE, now=live) == {capped, free}
    lapsed = live + timedelta(seconds=LEASE + 1)
    assert await store.renew_claims("w1", [capped, free], lease_seconds=LEASE, now=lapsed) == {free}


async def test_requeued_execution_keeps_its_limits(store: SqlStore, flows: tuple[Flow, ...]) -> None:
    """A resumed (requeued) execution still counts against its key's concurrency and queue limit."""
    limits = Limits(concurrency=1, queue_limit=1)
    [first] = await queue(store, flows[0], 1, limits)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    await store.finish_execution(first, ExecutionStatus.FAILED, finished_at=NOW)
    await queue(store, flows[0], 1, limits)
    assert await store.requeue_execution(first) is True
    assert await store.add_limited_execution(make_execution(flows[0]), limits) is False
    [claimed] = await store.claim_executions("w1", limit=5, lease_seconds=LEASE, now=NOW)
    assert claimed.id == first
    assert await store.claim_executions("w1", limit=5, lease_seconds=LEASE, now=NOW) == []


# -- the default queue limits: what the store records and counts -----------------------------


async def test_count_queued_counts_the_queued_executions_of_each_key(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Queued executions recorded with a queue limit, their own or the default, are counted by key."""
    limited, other, plain = flows
    await queue(store, other, 2, Limits(default_queue_limit=10))
    [started] = await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    await queue(store, limited, 3, Limits(queue_limit=10))
    await queue(store, plain, 1)  # recorded without any: not counted
    assert started.key == "other"
    assert await store.count_queued() == {"limited": 3, "other": 1}


async def test_a_default_queue_limit_is_recorded_not_checked(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """The store records a default queue limit but leaves its check to the dispatcher's counts."""
    default = Limits(default_queue_limit=1)
    await queue(store, flows[0], 3, default)
    assert await store.count_queued() == {"limited": 3}


async def test_an_own_queue_limit_counts_the_executions_queued_under_the_default(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Executions queued under the default count against a queue limit the workflow sets later."""
    await queue(store, flows[0], 2, Limits(default_queue_limit=100))
    assert await store.add_limited_execution(make_execution(flows[0]), Limits(queue_limit=2)) is False
    assert await store.add_limited_execution(make_execution(flows[0]), Limits(queue_limit=3)) is True


def test_the_default_queue_limit_applies_without_an_own_one() -> None:
    """A workflow's own `queueLimit` replaces the default; without one the default is its limit."""
    assert parse_options({}).limits(50) == Limits(default_queue_limit=50)
    assert parse_options({"queueLimit": 5}).limits(50) == Limits(queue_limit=5)
    assert parse_options({"concurrency": 2}).limits(50) == Limits(concurrency=2, default_queue_limit=50)
    assert Limits(queue_limit=5).stored_queue_limit == 5
    assert Limits(default_queue_limit=50).stored_queue_limit == 50


# -- the backlog: the counts the default limits are checked against ---------------------------


async def accept(
    backlog: Backlog, store: SqlStore, flow: Flow, count: int, limit: int | None
) -> list[Full | None]:
    """Take `count` places for a flow's key, queueing an execution in each place given; the answers.

    Without a default `limit` the executions are queued under a queueLimit of their own.
    """
    answers = []
    for _ in range(count):
        answer = backlog.take(flow.workflow.key, limit)
        if answer is None:
            own = Limits(default_queue_limit=limit) if limit is not None else Limits(queue_limit=1000)
            stored = await store.add_limited_execution(make_execution(flow), own)
            backlog.settle(flow.workflow.key, stored=stored)
        answers.append(answer)
    return answers


async def test_backlog_refuses_past_the_default_limit_of_a_key(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """With 2 executions queued and a default of 3, one place is left for the key; others are not affected."""
    limited, other, _ = flows
    await queue(store, limited, 2, Limits(default_queue_limit=3))
    backlog = Backlog(store.count_queued, total_limit=100, shared=False)
    await backlog.refresh()
    assert await accept(backlog, store, limited, 2, 3) == [None, Full(3, total=False)]
    assert await accept(backlog, store, other, 3, 3) == [None, None, None]
    assert await accept(backlog, store, limited, 2, None) == [None, None]  # its own queueLimit applies
    assert await store.count_queued() == {"limited": 5, "other": 3}


async def test_backlog_refuses_past_the_total_limit(store: SqlStore, flows: tuple[Flow, ...]) -> None:
    """The total limit counts every key's queued executions, stored and being written."""
    limited, other, plain = flows
    await queue(store, limited, 3, Limits(default_queue_limit=100))
    backlog = Backlog(store.count_queued, total_limit=5, shared=False)
    await backlog.refresh()
    assert backlog.take("other", 100) is None  # its write has not finished yet
    assert await accept(backlog, store, plain, 2, 100) == [None, Full(5, total=True)]
    backlog.settle("other", stored=False)  # that write failed: its place is free again
    assert await accept(backlog, store, plain, 2, 100) == [None, Full(5, total=True)]
    await backlog.refresh()
    assert await accept(backlog, store, other, 1, 100) == [Full(5, total=True)]


async def test_backlog_sees_what_other_processes_queued_and_started_at_its_next_count(
    store: SqlStore, second_store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Executions queued through another store count from the next refresh; started ones stop counting."""
    limited = flows[0]
    backlog = Backlog(store.count_queued, total_limit=100, shared=False)
    await backlog.refresh()
    assert backlog.take("limited", 3) is None  # its write has not finished yet
    await queue(second_store, limited, 2, Limits(default_queue_limit=3))
    await backlog.refresh()
    assert backlog.take("limited", 3) == Full(3, total=False)
    backlog.settle("limited", stored=False)
    await store.claim_executions("w1", limit=2, lease_seconds=LEASE, now=NOW)
    await backlog.refresh()
    assert await accept(backlog, store, limited, 4, 3) == [None, None, None, Full(3, total=False)]


async def test_backlog_counts_its_own_executions_once_a_refresh_includes_them(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """After a refresh the executions this process stored are counted by the database, not twice."""
    backlog = Backlog(store.count_queued, total_limit=100, shared=False)
    await backlog.refresh()
    assert await accept(backlog, store, flows[0], 2, 3) == [None, None]
    await backlog.refresh()
    await backlog.refresh()
    assert await accept(backlog, store, flows[0], 2, 3) == [None, Full(3, total=False)]


async def test_backlog_refreshes_at_once_count_each_execution_once(
    store: SqlStore, flows: tuple[Flow, ...]
) -> None:
    """Two refreshes asked for at the same time (a request's and a caller's) never forget a place twice."""
    backlog = Backlog(store.count_queued, total_limit=100, shared=False)
    assert await accept(backlog, store, flows[0], 2, 3) == [None, None]
    await asyncio.gather(backlog.refresh(), backlog.refresh())
    assert await accept(backlog, store, flows[0], 2, 3) == [None, Full(3, total=False)]
