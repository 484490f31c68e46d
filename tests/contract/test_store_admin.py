"""The Store contract for administration, on SQLite and PostgreSQL: versions, cancel, requeue, janitor."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Table, exc, func, select

from hookline.ids import new_id
from hookline.models import Execution, ExecutionStatus, Flow, Node
from hookline.store.execution_history import ExecutionFilter, RetentionRule
from hookline.store.schema import jobs, nodes
from hookline.store.sql_store import SqlStore
from hookline.store.workflow_store import WorkflowFilter
from tests._factories import LEASE, NOW, make_execution, make_flow, make_job

LATER = NOW + timedelta(hours=1)
CUTOFF = NOW + timedelta(days=1)
OLD = CUTOFF - timedelta(seconds=1)


async def add_flows(store: SqlStore, *flows: Flow) -> None:
    """Store flows one after another, in the given order."""
    for each in flows:
        await store.add_flow(each)


async def count_rows(store: SqlStore, table: Table) -> int:
    """How many rows a table holds."""
    async with store.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def finished(store: SqlStore, flow: Flow, status: ExecutionStatus, at: Any, **fields: Any) -> Execution:
    """Store an execution that finished with this status at this time, with one job."""
    execution = make_execution(flow, status=status, finished_at=at, **fields)
    await store.add_execution(execution, [make_job(execution)])
    return execution


async def remaining(store: SqlStore) -> set[int]:
    """The ids of every stored execution."""
    return {e.id for e in await store.list_executions(ExecutionFilter(limit=1000))}


# -- finding and editing workflows -----------------------------------------------------------


def described(key: str, title: str, description: str | None) -> Flow:
    """An enabled flow with this key, title and description."""
    flow = make_flow(key, title=title)
    return Flow(replace(flow.workflow, description=description), flow.nodes)


async def test_find_workflows_matches_text_in_any_case(store: SqlStore) -> None:
    """Text matches a piece of the key, title or description of current versions, in any case."""
    old_billing = described("billing", "Old invoices", None)
    billing = described("billing", "Invoices", None)
    shop = described("shop", "Cart", "Pays the SHOP 100%")
    await add_flows(store, old_billing, billing, described("orders", "Orders", "paid ones"), shop)

    async def keys(text: str) -> list[str]:
        return [w.key for w in await store.find_workflows(WorkflowFilter(text=text))]

    assert await keys("INVOI") == ["billing"]
    assert [w.id for w in await store.find_workflows(WorkflowFilter(text="old"))] == []
    assert await keys("ORD") == ["orders"]
    assert await keys("shop") == ["shop"]
    assert await keys("100%") == ["shop"]
    assert await keys("_") == []
    assert await keys("pai") == ["orders"]
    assert await keys("S") == ["billing", "orders", "shop"]
    assert await keys("") == ["billing", "orders", "shop"]


async def test_find_workflows_filters_enabled_and_type(store: SqlStore) -> None:
    """The enabled and type filters keep only the current versions that have them."""
    hook, off = make_flow("hook"), make_flow("off", enabled=False)
    timer = make_flow("timer")
    timer = Flow(replace(timer.workflow, type="schedule"), timer.nodes)
    await add_flows(store, hook, off, timer)

    async def keys(**query: Any) -> list[str]:
        return [w.key for w in await store.find_workflows(WorkflowFilter(**query))]

    assert await keys(enabled=True) == ["hook", "timer"]
    assert await keys(enabled=False) == ["off"]
    assert await keys(type="webhook") == ["hook", "off"]
    assert await keys(type="schedule", enabled=True) == ["timer"]


async def test_find_workflows_pages_by_key(store: SqlStore) -> None:
    """Limit and offset give consecutive pages of current versions ordered by key."""
    await add_flows(store, *(make_flow(key) for key in ["e", "c", "a", "d", "b"]))

    async def page(offset: int) -> list[str]:
        return [w.key for w in await store.find_workflows(WorkflowFilter(limit=2, offset=offset))]

    assert [await page(0), await page(2), await page(4), await page(6)] == [["a", "b"], ["c", "d"], ["e"], []]


async def test_list_versions_gives_every_version_oldest_first(store: SqlStore) -> None:
    """All versions of a key list in id order, current or not, and no other key's."""
    first, second, third = make_flow(title="v1"), make_flow(title="v2", enabled=False), make_flow(title="v3")
    await add_flows(store, first, make_flow("other"), second, third)
    versions = await store.list_versions("orders")
    assert [(w.title, w.enabled, w.current) for w in versions] == [
        ("v1", False, False),
        ("v2", False, False),
        ("v3", True, True),
    ]
    assert await store.list_versions("nope") == []


async def test_update_workflow_stores_the_editable_fields_only(store: SqlStore, flow: Flow) -> None:
    """Title, description, config, options and updated_at change; key, flags and nodes stay."""
    edited = replace(
        flow.workflow,
        key="renamed",
        title="Paid orders",
        description=None,
        config={"request": {}, "basicAuthentication": True},
        options={"timeout": 100, "retention": {"keep": "failed"}},
        enabled=False,
        updated_at=LATER,
    )
    await store.update_workflow(edited)
    stored = await store.get_flow(flow.workflow.id)
    assert stored == Flow(replace(edited, key="orders", enabled=True, current=True), flow.nodes)


async def test_replace_nodes_swaps_every_node_of_that_version(store: SqlStore, flow: Flow) -> None:
    """The version gets exactly the new nodes; another version's nodes stay."""
    other = make_flow("other")
    await store.add_flow(other)
    only = Node(id=new_id(), workflow_id=flow.workflow.id, key="only", type="end", config={"x": [1]})
    await store.replace_nodes(flow.workflow.id, [only])
    assert await store.get_flow(flow.workflow.id) == Flow(replace(flow.workflow, current=True), (only,))
    kept = await store.get_flow(other.workflow.id)
    assert kept is not None
    assert kept.nodes == other.nodes
    await store.replace_nodes(flow.workflow.id, [])
    emptied = await store.get_flow(flow.workflow.id)
    assert emptied is not None
    assert emptied.nodes == ()


async def test_replace_nodes_is_all_or_nothing(store: SqlStore, flow: Flow) -> None:
    """When one new node cannot be stored, the old nodes are all still there."""
    other = make_flow("other")
    await store.add_flow(other)
    clash = replace(other.nodes[0], workflow_id=flow.workflow.id)  # its id is taken by `other`
    fresh = Node(id=new_id(), workflow_id=flow.workflow.id, key="fresh", type="end")
    with pytest.raises(exc.IntegrityError):
        await store.replace_nodes(flow.workflow.id, [fresh, clash])
    stored = await store.get_flow(flow.workflow.id)
    assert stored is not None
    assert stored.nodes == flow.nodes


async def test_replace_nodes_refuses_nodes_of_another_version(store: SqlStore, flow: Flow) -> None:
    """Nodes that name another workflow version are refused before anything changes."""
    with pytest.raises(ValueError, match="another workflow version"):
        await store.replace_nodes(flow.workflow.id + 1, flow.nodes)
    assert await count_rows(store, nodes) == len(flow.nodes)


# -- enabling --------------------------------------------------------------------------------


async def test_enabling_a_version_takes_over_its_key(store: SqlStore) -> None:
    """Enabling an old version makes it current and enabled, and the previous one neither."""
    first, second, other = make_flow(title="v1"), make_flow(title="v2"), make_flow("other")
    await add_flows(store, first, second, other)
    await store.set_enabled(first.workflow.id, True, now=LATER)
    versions = await store.list_versions("orders")
    assert [(w.title, w.enabled, w.current, w.updated_at) for w in versions] == [
        ("v1", True, True, LATER),
        ("v2", False, False, LATER),
    ]
    live = await store.get_live_flow("orders")
    assert live is not None
    assert live.workflow.id == first.workflow.id
    untouched = await store.get_flow(other.workflow.id)
    assert untouched is not None
    assert untouched.workflow == replace(other.workflow, current=True)


async def test_enabling_flips_back_and_forth_without_hitting_the_unique_index(store: SqlStore) -> None:
    """With three versions, enabling each in turn always leaves exactly one current, enabled version."""
    versions = [make_flow(title=f"v{i}", enabled=i == 0) for i in range(3)]
    await add_flows(store, *versions)
    for target in [2, 1, 2, 0]:
        await store.set_enabled(versions[target].workflow.id, True, now=LATER)
        flags = [(w.enabled, w.current) for w in await store.list_versions("orders")]
        assert flags == [(i == target, i == target) for i in range(3)]


async def test_disabling_keeps_the_version_current(store: SqlStore, flow: Flow) -> None:
    """A disabled version is still current but no longer live; enabling it again makes it live."""
    await store.set_enabled(flow.workflow.id, False, now=LATER)
    assert await store.get_live_flow("orders") is None
    current = await store.get_current_flow("orders")
    assert current is not None
    assert (current.workflow.enabled, current.workflow.current, current.workflow.updated_at) == (
        False,
        True,
        LATER,
    )
    await store.set_enabled(flow.workflow.id, True, now=LATER + timedelta(seconds=1))
    assert await store.get_live_flow("orders") is not None


async def test_set_enabled_leaves_rows_that_do_not_change_alone(store: SqlStore, flow: Flow) -> None:
    """Enabling the live version or disabling a disabled one keeps updated_at; unknown ids do nothing."""
    older = make_flow(enabled=False)
    await store.add_flow(older)
    await store.set_enabled(flow.workflow.id, True, now=LATER)
    await store.set_enabled(older.workflow.id, False, now=LATER)
    await store.set_enabled(new_id(), True, now=LATER)
    assert {w.updated_at for w in await store.list_versions("orders")} == {NOW}


# -- counting and deleting -------------------------------------------------------------------


async def test_count_executions_counts_one_version(store: SqlStore, flow: Flow) -> None:
    """Only the executions of that version are counted."""
    newer = make_flow()
    await store.add_flow(newer)
    for execution in [make_execution(flow), make_execution(flow), make_execution(newer)]:
        await store.add_execution(execution)
    assert await store.count_executions(flow.workflow.id) == 2
    assert await store.count_executions(newer.workflow.id) == 1
    assert await store.count_executions(new_id()) == 0


async def test_delete_workflow_removes_every_version_in_batches(store: SqlStore, flow: Flow) -> None:
    """Every version, node, execution and job of the key goes, in several transactions; others stay."""
    newer, other = make_flow(), make_flow("other")
    await add_flows(store, newer, other)
    for i in range(25):
        await finished(store, flow if i % 2 else newer, ExecutionStatus.RESOLVED, NOW)
    kept = await finished(store, other, ExecutionStatus.RESOLVED, NOW)
    before = store.writer.transactions
    assert await store.delete_workflow("orders", batch=10) == 25
    assert store.writer.transactions - before >= 3  # 10 + 10 + 5, each in its own transaction
    assert await store.list_versions("orders") == []
    assert await remaining(store) == {kept.id}
    assert await count_rows(store, nodes) == len(other.nodes)
    assert await count_rows(store, jobs) == 1
    assert await store.get_live_flow("other") is not None


async def test_delete_workflow_without_executions_removes_the_versions(store: SqlStore, flow: Flow) -> None:
    """A key without executions loses its versions and nodes; an unknown key deletes nothing."""
    assert await store.delete_workflow("orders") == 0
    assert await store.get_flow(flow.workflow.id) is None
    assert await count_rows(store, nodes) == 0
    assert await store.delete_workflow("nope") == 0


async def test_list_executions_filters_by_version_and_creation_time(store: SqlStore, flow: Flow) -> None:
    """The version filter and the [after, before) creation window narrow the list."""
    newer = make_flow()
    await store.add_flow(newer)
    early = make_execution(flow, created_at=NOW)
    middle = make_execution(flow, created_at=NOW + timedelta(minutes=1))
    late = make_execution(flow, created_at=NOW + timedelta(minutes=2))
    elsewhere = make_execution(newer, created_at=NOW + timedelta(minutes=1))
    for execution in [early, middle, late, elsewhere]:
        await store.add_execution(execution)

    async def ids(**query: Any) -> list[int]:
        return [e.id for e in await store.list_executions(ExecutionFilter(**query))]

    assert await ids(workflow_id=flow.workflow.id) == [late.id, middle.id, early.id]
    window = {"created_after": middle.created_at, "created_before": late.created_at}
    assert await ids(**window) == [elsewhere.id, middle.id]
    assert await ids(workflow_id=flow.workflow.id, **window) == [middle.id]


# -- cancel and requeue ----------------------------------------------------------------------


async def test_cancel_stops_queued_and_started_executions(store: SqlStore, flow: Flow) -> None:
    """Queued and started executions become canceled, unclaimable and unrenewable."""
    queued, started = make_execution(flow), make_execution(flow)
    await store.add_execution(started)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    await store.add_execution(queued)
    assert await store.cancel_execution(queued.id, now=LATER) is True
    assert await store.cancel_execution(started.id, now=LATER) is True
    for execution_id in (queued.id, started.id):
        stored = await store.get_execution(execution_id)
        assert stored is not None
        assert (stored.status, stored.finished_at, stored.error) == (
            ExecutionStatus.CANCELED,
            LATER,
            "canceled",
        )
    assert await store.renew_claims("w1", [started.id], lease_seconds=LEASE, now=LATER) == set()
    assert (
        await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=LATER + timedelta(hours=1)) == []
    )


async def test_cancel_leaves_finished_executions_alone(store: SqlStore, flow: Flow) -> None:
    """A finished, an already canceled or a missing execution is not canceled and does not change."""
    done = await finished(store, flow, ExecutionStatus.FAILED, NOW, error="boom")
    assert await store.cancel_execution(done.id, now=LATER) is False
    assert await store.get_execution(done.id) == done
    queued = make_execution(flow)
    await store.add_execution(queued)
    assert await store.cancel_execution(queued.id, now=LATER) is True
    assert await store.cancel_execution(queued.id, now=LATER + timedelta(hours=1)) is False
    again = await store.get_execution(queued.id)
    assert again is not None
    assert again.finished_at == LATER
    assert await store.cancel_execution(new_id(), now=LATER) is False


async def test_finish_after_cancel_keeps_canceled(store: SqlStore, flow: Flow) -> None:
    """A worker finishing an execution canceled meanwhile records its jobs but not its status."""
    execution = make_execution(flow)
    await store.add_execution(execution)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    await store.cancel_execution(execution.id, now=LATER)
    last = make_job(execution)
    await store.finish_execution(
        execution.id,
        ExecutionStatus.RESOLVED,
        finished_at=LATER + timedelta(seconds=1),
        output=1,
        jobs=[last],
    )
    stored = await store.get_execution(execution.id)
    assert stored is not None
    assert (stored.status, stored.finished_at, stored.output) == (ExecutionStatus.CANCELED, LATER, None)
    assert await store.list_jobs(execution.id) == [last]


async def test_requeue_drops_the_named_jobs_and_queues_again(store: SqlStore, flow: Flow) -> None:
    """A failed execution loses the dropped jobs, is queued with no error, and is claimed afresh."""
    execution = make_execution(flow)
    await store.add_execution(execution)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    good, bad = make_job(execution, node_key="a"), make_job(execution, node_key="b")
    await store.add_jobs([good])
    await store.finish_execution(execution.id, ExecutionStatus.FAILED, finished_at=NOW, error="b", jobs=[bad])
    assert await store.requeue_execution(execution.id, drop_job_ids=[bad.id]) is True
    stored = await store.get_execution(execution.id)
    assert stored is not None
    assert (stored.status, stored.error, stored.finished_at) == (ExecutionStatus.QUEUED, None, None)
    assert await store.list_jobs(execution.id) == [good]
    [claimed] = await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=LATER)
    # The attempts restart (a new budget); started_at keeps the first run's time.
    assert (claimed.id, claimed.attempt, claimed.started_at) == (execution.id, 1, NOW)


async def test_requeue_refuses_unfinished_or_missing_executions(store: SqlStore, flow: Flow) -> None:
    """Queued or started executions are not requeued and keep their jobs; missing ones give False."""
    queued, started = make_execution(flow), make_execution(flow)
    await store.add_execution(started)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    await store.add_execution(queued)
    job = make_job(started)
    await store.add_jobs([job])
    assert await store.requeue_execution(queued.id) is False
    assert await store.requeue_execution(started.id, drop_job_ids=[job.id]) is False
    assert await store.list_jobs(started.id) == [job]
    stored = await store.get_execution(started.id)
    assert stored is not None
    assert stored.status is ExecutionStatus.STARTED
    assert await store.requeue_execution(new_id()) is False


# -- the janitor -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "gone"),
    [(None, {"resolved", "failed"}), ((ExecutionStatus.RESOLVED, ExecutionStatus.STARTED), {"resolved"})],
)
async def test_janitor_deletes_exactly_the_matching_executions(
    store: SqlStore, flow: Flow, statuses: Any, gone: set[str]
) -> None:
    """Only final executions of the named versions, finished before the cutoff, with a listed status go."""
    newer, other = make_flow(), make_flow("other")
    await add_flows(store, newer, other)
    candidates = {
        "resolved": await finished(store, flow, ExecutionStatus.RESOLVED, OLD),
        "failed": await finished(store, flow, ExecutionStatus.FAILED, OLD),
        "at cutoff": await finished(store, flow, ExecutionStatus.RESOLVED, CUTOFF),
        "other version": await finished(store, newer, ExecutionStatus.RESOLVED, OLD),
        "other key": await finished(store, other, ExecutionStatus.RESOLVED, OLD),
        "queued": make_execution(flow),
        "started": make_execution(flow, status=ExecutionStatus.STARTED, finished_at=OLD),
    }
    for name in ("queued", "started"):
        await store.add_execution(candidates[name])
    rule = RetentionRule(workflow_ids=(flow.workflow.id,), finished_before=CUTOFF, statuses=statuses)
    assert await store.delete_executions(rule, limit=100) == len(gone)
    assert await remaining(store) == {e.id for name, e in candidates.items() if name not in gone}
    assert await count_rows(store, jobs) == 5 - len(gone)


async def test_janitor_respects_the_limit_oldest_first(store: SqlStore, flow: Flow) -> None:
    """Each call deletes at most `limit` executions, the oldest first, until none match."""
    doomed = [await finished(store, flow, ExecutionStatus.RESOLVED, OLD) for _ in range(5)]
    rule = RetentionRule(workflow_ids=(flow.workflow.id,), finished_before=CUTOFF)
    assert await store.delete_executions(rule, limit=2) == 2
    assert await remaining(store) == {e.id for e in doomed[2:]}
    assert [await store.delete_executions(rule, limit=2) for _ in range(3)] == [2, 1, 0]
    assert await count_rows(store, jobs) == 0


async def test_janitor_with_nothing_to_match_deletes_nothing(store: SqlStore, flow: Flow) -> None:
    """No versions, only unfinished statuses, or a zero limit delete nothing."""
    kept = await finished(store, flow, ExecutionStatus.RESOLVED, OLD)
    rules = [
        RetentionRule(workflow_ids=(), finished_before=CUTOFF),
        RetentionRule(
            workflow_ids=(flow.workflow.id,), finished_before=CUTOFF, statuses=(ExecutionStatus.QUEUED,)
        ),
    ]
    assert [await store.delete_executions(rule, limit=10) for rule in rules] == [0, 0]
    assert await store.delete_executions(RetentionRule((flow.workflow.id,), CUTOFF), limit=0) == 0
    assert await remaining(store) == {kept.id}


async def test_count_executions_by_status_groups_by_key_and_status(store: SqlStore, flow: Flow) -> None:
    """Counts come per (workflow key, status), across versions of a key."""
    newer, other = make_flow(), make_flow("other")
    await add_flows(store, newer, other)
    await finished(store, flow, ExecutionStatus.RESOLVED, NOW)
    await finished(store, newer, ExecutionStatus.RESOLVED, NOW)
    await finished(store, flow, ExecutionStatus.FAILED, NOW)
    await store.add_execution(make_execution(other))
    assert await store.count_executions_by_status() == {
        ("orders", "resolved"): 2,
        ("orders", "failed"): 1,
        ("other", "queued"): 1,
    }
