"""The Store contract, run on SQLite and PostgreSQL: flows, executions, jobs and claims."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, exc

from hookline.errors import RejectedRequest, StorageUnavailable
from hookline.models import ExecutionStatus, Flow, JobStatus
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore, open_store
from tests._factories import LEASE, NOW, make_execution, make_flow, make_job


async def queue(store: SqlStore, flow: Flow, count: int) -> list[int]:
    """Store `count` queued executions; their ids, oldest first."""
    executions = [make_execution(flow) for _ in range(count)]
    await asyncio.gather(*(store.add_execution(e) for e in executions))
    return [e.id for e in executions]


# -- workflows -------------------------------------------------------------------------------


async def test_added_flow_reads_back_with_its_nodes(store: SqlStore) -> None:
    """A stored enabled flow comes back equal by id, as the live and as the current version."""
    flow = make_flow()
    await store.add_flow(flow)
    expected = Flow(replace(flow.workflow, current=True), flow.nodes)
    assert await store.get_flow(flow.workflow.id) == expected
    assert await store.get_live_flow("orders") == expected
    assert await store.get_current_flow("orders") == expected


async def test_missing_flows_are_none(store: SqlStore) -> None:
    """Unknown ids and keys give None rather than an error."""
    assert await store.get_flow(12345) is None
    assert await store.get_live_flow("nope") is None
    assert await store.get_current_flow("nope") is None


async def test_enabled_version_takes_over_its_key(store: SqlStore) -> None:
    """Adding an enabled version makes it current and disables every other version of the key."""
    first, second = make_flow(title="v1"), make_flow(title="v2")
    await store.add_flow(first)
    await store.add_flow(second)
    live = await store.get_live_flow("orders")
    assert live is not None
    assert live.workflow.id == second.workflow.id
    old = await store.get_flow(first.workflow.id)
    assert old is not None
    assert (old.workflow.enabled, old.workflow.current) == (False, False)
    assert [w.id for w in await store.list_workflows()] == [second.workflow.id]


async def test_disabled_version_is_current_only_when_its_key_has_none(store: SqlStore) -> None:
    """A disabled version becomes current for a new key, but not over an existing current one."""
    first, second = make_flow(enabled=False), make_flow(enabled=False)
    await store.add_flow(first)
    await store.add_flow(second)
    current = await store.get_current_flow("orders")
    assert current is not None
    assert current.workflow.id == first.workflow.id
    assert await store.get_live_flow("orders") is None
    again = await store.get_flow(second.workflow.id)
    assert again is not None
    assert again.workflow.current is False


async def test_list_workflows_orders_by_key_then_id(store: SqlStore) -> None:
    """Versions list by key then id; all versions when asked, only current ones by default."""
    b, a1, a2 = make_flow("b"), make_flow("a"), make_flow("a")
    for flow in (b, a1, a2):
        await store.add_flow(flow)
    everything = await store.list_workflows(current_only=False)
    assert [(w.key, w.id) for w in everything] == [
        ("a", a1.workflow.id),
        ("a", a2.workflow.id),
        ("b", b.workflow.id),
    ]
    assert [w.id for w in await store.list_workflows()] == [a2.workflow.id, b.workflow.id]


# -- executions and jobs ---------------------------------------------------------------------


async def test_execution_round_trips_every_field(store: SqlStore, flow: Flow) -> None:
    """Every field of an execution and its jobs, JSON and timestamps included, reads back equal."""
    paris = timezone(timedelta(hours=1))
    execution = make_execution(
        flow,
        status=ExecutionStatus.RESOLVED,
        output={"total": 12.5, "items": [1, "two", None, True], "deep": {"é": "ünïcode"}},
        response={"statusCode": 201, "headers": [{"name": "X-A", "value": "b"}], "body": "ok"},
        error="none really",
        attempt=2,
        created_at=datetime(2026, 3, 1, 13, 0, 0, 123456, tzinfo=paris),
        started_at=NOW + timedelta(seconds=1),
        finished_at=NOW + timedelta(seconds=2),
    )
    jobs = [make_job(execution), make_job(execution, status=JobStatus.FAILED, result={"why": [1]})]
    await store.add_execution(execution, jobs)
    stored = await store.get_execution(execution.id)
    assert stored == execution
    assert stored is not None
    assert stored.created_at.tzinfo == UTC
    assert await store.list_jobs(execution.id) == jobs


@pytest.mark.parametrize(
    "output",
    [None, 0, -3, 2**62, 1.5, "text", "", True, False, [], {}, [None, {"a": [1.25]}], {"n": None}],
)
async def test_json_values_keep_their_types(store: SqlStore, flow: Flow, output: Any) -> None:
    """A JSON output reads back with the same value and the same Python type."""
    execution = make_execution(flow, status=ExecutionStatus.RESOLVED, output=output)
    await store.add_execution(execution)
    stored = await store.get_execution(execution.id)
    assert stored is not None
    assert stored.output == output
    assert type(stored.output) is type(output)


async def test_duplicate_event_key_fails_only_that_caller(store: SqlStore, flow: Flow) -> None:
    """In one batch, the write reusing an event key is refused with 409; the others are stored."""
    executions = [make_execution(flow) for _ in range(10)]
    duplicate = make_execution(flow, event_key=executions[3].event_key)
    outcomes = await asyncio.gather(
        *(store.add_execution(e) for e in [*executions, duplicate]), return_exceptions=True
    )
    assert outcomes[:10] == [None] * 10
    refused = outcomes[10]
    assert isinstance(refused, RejectedRequest)
    assert (refused.status, refused.code) == (409, "duplicate_event")
    assert await store.get_execution(duplicate.id) is None
    stored = await store.list_executions(ExecutionFilter(limit=100))
    assert sorted(e.id for e in stored) == sorted(e.id for e in executions)


async def test_concurrent_add_execution_calls_share_transactions(store: SqlStore, flow: Flow) -> None:
    """200 concurrent inserts are all durable and cost far fewer transactions than calls."""
    before = store.writer.transactions
    executions = [make_execution(flow) for _ in range(200)]
    await asyncio.gather(*(store.add_execution(e, [make_job(e)]) for e in executions))
    assert store.writer.transactions - before < 20
    stored = await store.list_executions(ExecutionFilter(limit=500))
    assert {e.id for e in stored} == {e.id for e in executions}
    assert len(await store.list_jobs(executions[-1].id)) == 1


async def test_event_key_finds_its_execution(store: SqlStore, flow: Flow) -> None:
    """The execution recorded for an event key can be looked up by that key."""
    execution = make_execution(flow, event_key="idem-1")
    await store.add_execution(execution)
    assert await store.get_execution_by_event_key("idem-1") == execution
    assert await store.get_execution_by_event_key("idem-2") is None


async def test_finish_execution_records_jobs_and_final_status(store: SqlStore, flow: Flow) -> None:
    """Finishing sets status, output, answer, error and end time, and stores the last jobs."""
    execution = make_execution(flow)
    await store.add_execution(execution)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    first = make_job(execution)
    await store.add_jobs([first])
    last = make_job(execution, status=JobStatus.ERROR, result="boom")
    end = NOW + timedelta(seconds=5)
    await store.finish_execution(
        execution.id,
        ExecutionStatus.ERROR,
        finished_at=end,
        output=[1, 2],
        response={"statusCode": 500},
        error="boom",
        jobs=[last],
    )
    stored = await store.get_execution(execution.id)
    assert stored == replace(
        execution,
        status=ExecutionStatus.ERROR,
        finished_at=end,
        output=[1, 2],
        response={"statusCode": 500},
        error="boom",
        attempt=1,
        started_at=NOW,
    )
    assert await store.list_jobs(execution.id) == [first, last]


async def test_finish_execution_is_all_or_nothing(store: SqlStore, flow: Flow) -> None:
    """When one of the last jobs cannot be stored, neither the jobs nor the status change."""
    execution = make_execution(flow)
    stored_job = make_job(execution)
    await store.add_execution(execution, [stored_job])
    new_job = make_job(execution)
    with pytest.raises(exc.IntegrityError):
        await store.finish_execution(
            execution.id, ExecutionStatus.RESOLVED, finished_at=NOW, jobs=[new_job, stored_job]
        )
    assert await store.get_execution(execution.id) == execution
    assert await store.list_jobs(execution.id) == [stored_job]


async def test_list_jobs_keeps_recorded_order(store: SqlStore, flow: Flow) -> None:
    """Jobs list in the order they were recorded, across add_execution, add_jobs and finish."""
    execution = make_execution(flow)
    first, second, third = (make_job(execution, node_key=k) for k in ("a", "b", "c"))
    await store.add_execution(execution, [first])
    await store.add_jobs([second])
    await store.finish_execution(execution.id, ExecutionStatus.RESOLVED, finished_at=NOW, jobs=[third])
    assert [j.node_key for j in await store.list_jobs(execution.id)] == ["a", "b", "c"]
    assert await store.list_jobs(12345) == []


async def test_the_jobs_a_worker_resumes_with_are_the_jobs_listed(store: SqlStore, flow: Flow) -> None:
    """`resume_jobs` (on SQLite the writer's own read) gives the very jobs `list_jobs` gives, in order."""
    execution = make_execution(flow)
    jobs = [
        make_job(execution, node_key="a", meta={"branch": 1, "iteration": "each#0/"}),
        make_job(execution, node_key="b", result={"deep": [1, "two", None]}, status=JobStatus.FAILED),
        make_job(execution, node_key="c", finished_at=None, status=JobStatus.PENDING),
    ]
    await store.add_execution(execution, jobs[:1])
    await store.add_jobs(jobs[1:])
    assert await store.resume_jobs(execution.id) == await store.list_jobs(execution.id) == jobs
    assert await store.resume_jobs(12345) == []


async def test_list_executions_filters_newest_first(store: SqlStore, flow: Flow) -> None:
    """Executions list newest first, filtered by workflow key, status and id, up to the limit."""
    other = make_flow("other")
    await store.add_flow(other)
    mine = [make_execution(flow) for _ in range(4)]
    theirs = make_execution(other)
    failed = make_execution(flow, status=ExecutionStatus.FAILED, finished_at=NOW)
    for execution in [*mine, theirs, failed]:
        await store.add_execution(execution)

    async def ids(**query: Any) -> list[int]:
        return [e.id for e in await store.list_executions(ExecutionFilter(**query))]

    assert await ids() == [failed.id, theirs.id, *(e.id for e in reversed(mine))]
    assert await ids(workflow_key="orders") == [failed.id, *(e.id for e in reversed(mine))]
    assert await ids(workflow_key="orders", status=ExecutionStatus.QUEUED) == [e.id for e in reversed(mine)]
    assert await ids(status=ExecutionStatus.FAILED) == [failed.id]
    assert await ids(workflow_key="orders", before_id=mine[2].id) == [mine[1].id, mine[0].id]
    assert await ids(limit=2) == [failed.id, theirs.id]


# -- claims ----------------------------------------------------------------------------------


async def test_claim_takes_the_oldest_runnable_executions(store: SqlStore, flow: Flow) -> None:
    """A claim takes the oldest queued rows, marks them started for the worker, and counts the attempt."""
    ids = await queue(store, flow, 3)
    await store.add_execution(make_execution(flow, status=ExecutionStatus.RESOLVED, finished_at=NOW))
    claimed = await store.claim_executions("w1", limit=2, lease_seconds=LEASE, now=NOW)
    assert [e.id for e in claimed] == ids[:2]
    assert all(e.status is ExecutionStatus.STARTED and e.attempt == 1 for e in claimed)
    assert all(e.started_at == NOW for e in claimed)
    rest = await store.claim_executions("w2", limit=10, lease_seconds=LEASE, now=NOW)
    assert [e.id for e in rest] == ids[2:]
    assert await store.claim_executions("w3", limit=10, lease_seconds=LEASE, now=NOW) == []


async def test_concurrent_claimers_never_share_a_row(store: SqlStore, store_url: str, flow: Flow) -> None:
    """Four claimers in two store instances claim 100 rows, each row exactly once."""
    ids = await queue(store, flow, 100)
    other = await open_store(store_url, migrate=False)

    async def claim_all(claimer: SqlStore, worker: str) -> list[int]:
        mine: list[int] = []
        while batch := await claimer.claim_executions(worker, limit=7, lease_seconds=LEASE, now=NOW):
            mine += [e.id for e in batch]
        return mine

    try:
        results = await asyncio.gather(
            claim_all(store, "a1"), claim_all(store, "a2"), claim_all(other, "b1"), claim_all(other, "b2")
        )
    finally:
        await other.close()
    claimed = [i for result in results for i in result]
    assert sorted(claimed) == sorted(ids)
    started = await store.list_executions(ExecutionFilter(status=ExecutionStatus.STARTED, limit=500))
    assert all(e.attempt == 1 for e in started)
    assert len(started) == 100


async def test_expired_claim_is_taken_over_with_the_next_attempt(store: SqlStore, flow: Flow) -> None:
    """A claim whose lease ran out is claimable again; the attempt grows and started_at stays."""
    [execution_id] = await queue(store, flow, 1)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    during = NOW + timedelta(seconds=LEASE - 1)
    assert await store.claim_executions("w2", limit=1, lease_seconds=LEASE, now=during) == []
    after = NOW + timedelta(seconds=LEASE + 1)
    [again] = await store.claim_executions("w2", limit=1, lease_seconds=LEASE, now=after)
    assert (again.id, again.attempt, again.started_at) == (execution_id, 2, NOW)


async def test_renewed_claim_is_kept_by_its_worker(store: SqlStore, flow: Flow) -> None:
    """Renewing pushes the expiry and says so; a renewal from another worker changes nothing."""
    [execution_id] = await queue(store, flow, 1)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    later = NOW + timedelta(seconds=20)
    assert await store.renew_claims("w1", [execution_id], lease_seconds=LEASE, now=later) == {execution_id}
    assert await store.renew_claims("w2", [execution_id], lease_seconds=600, now=later) == set()
    assert await store.renew_claims("w1", [], lease_seconds=LEASE, now=NOW) == set()
    kept = NOW + timedelta(seconds=45)
    assert await store.claim_executions("w3", limit=1, lease_seconds=LEASE, now=kept) == []
    lapsed = NOW + timedelta(seconds=51)
    [taken] = await store.claim_executions("w3", limit=1, lease_seconds=LEASE, now=lapsed)
    assert taken.id == execution_id


async def test_expire_claims_frees_one_workers_rows_or_all(store: SqlStore, flow: Flow) -> None:
    """Expiring one worker's claims frees only its rows at once; without a worker, all of them."""
    ids = await queue(store, flow, 4)
    await store.claim_executions("w1", limit=2, lease_seconds=LEASE, now=NOW)
    await store.claim_executions("w2", limit=2, lease_seconds=LEASE, now=NOW)
    assert await store.expire_claims("w1") == 2
    again = await store.claim_executions("w3", limit=10, lease_seconds=LEASE, now=NOW)
    assert [e.id for e in again] == ids[:2]
    assert await store.expire_claims() == 4
    assert len(await store.claim_executions("w4", limit=10, lease_seconds=LEASE, now=NOW)) == 4


async def test_expire_claims_can_keep_some_and_spare_later_claims(store: SqlStore, flow: Flow) -> None:
    """With `keep` and `expiring_by`, only that worker's other claims taken by then are freed."""
    ids = await queue(store, flow, 5)
    first = await store.claim_executions("w1", limit=3, lease_seconds=LEASE, now=NOW)
    later = NOW + timedelta(seconds=5)
    second = await store.claim_executions("w1", limit=2, lease_seconds=LEASE, now=later)
    assert [e.id for e in first + second] == ids
    kept = first[0].id
    by = NOW + timedelta(seconds=LEASE)
    assert await store.expire_claims("w1", keep=[kept], expiring_by=by) == 2
    again = await store.claim_executions("w2", limit=10, lease_seconds=LEASE, now=later)
    assert [e.id for e in again] == [e.id for e in first[1:]]


async def test_finished_execution_is_never_claimed(store: SqlStore, flow: Flow) -> None:
    """Once finished, an execution leaves the queue even though its claim was never renewed."""
    [execution_id] = await queue(store, flow, 1)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    await store.finish_execution(execution_id, ExecutionStatus.RESOLVED, finished_at=NOW)
    late = NOW + timedelta(hours=1)
    assert await store.claim_executions("w2", limit=1, lease_seconds=LEASE, now=late) == []
    assert await store.expire_claims() == 0


# -- availability ----------------------------------------------------------------------------


async def test_ping_answers(store: SqlStore) -> None:
    """A reachable database answers the ping: one query goes to it and comes back without error."""
    sent: list[str] = []

    def note(conn: object, cursor: object, statement: str, *rest: object) -> None:
        sent.append(statement)

    # The query is watched where it leaves for the database: a ping that asked nothing would pass unseen.
    event.listen(store.engine.sync_engine, "after_cursor_execute", note)
    try:
        await store.ping()
    finally:
        event.remove(store.engine.sync_engine, "after_cursor_execute", note)
    kinds = [statement.split()[0].upper() for statement in sent]
    assert [kind for kind in kinds if kind != "BEGIN"] == ["SELECT"]  # SQLite's driver sends its BEGIN too


async def test_closed_store_refuses_writes(store: SqlStore, flow: Flow) -> None:
    """After close, a write is refused as storage unavailable instead of hanging."""
    await store.close()
    with pytest.raises(StorageUnavailable):
        await store.add_execution(make_execution(flow))


async def test_unreachable_postgres_is_storage_unavailable() -> None:
    """Opening a PostgreSQL URL where no server listens raises StorageUnavailable."""
    with pytest.raises(StorageUnavailable):
        await open_store("postgresql://postgres@127.0.0.1:1/nothing")


async def test_unusable_sqlite_path_is_storage_unavailable() -> None:
    """Opening an SQLite file in a directory that cannot exist raises StorageUnavailable."""
    with pytest.raises(StorageUnavailable):
        await open_store("sqlite:////proc/hookline-cannot-be-here/hookline.db")


async def test_memory_database_serves_reads_and_writes() -> None:
    """An in-memory SQLite store (one shared connection) stores, claims and reads back."""
    store = await open_store("sqlite:///:memory:")
    try:
        flow = make_flow()
        await store.add_flow(flow)
        ids = await queue(store, flow, 5)
        claimed = await store.claim_executions("w1", limit=5, lease_seconds=LEASE, now=NOW)
        assert [e.id for e in claimed] == ids
        assert await store.get_live_flow("orders") is not None
    finally:
        await store.close()
