"""The SQL behind SqlStore: statement builders and the multi-statement actions the writer runs.

The actions take a synchronous `Connection`: the writer runs them on its SQLite thread as they
are, and on the async path (PostgreSQL, reads) through `AsyncConnection.run_sync`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    Update,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from hookline.models import ExecutionStatus, Flow
from hookline.store._rows import node_row, to_node, to_workflow, workflow_row
from hookline.store.execution_history import ExecutionFilter, RetentionRule
from hookline.store.schema import RUNNABLE_STATUSES, executions, jobs, nodes, workflows
from hookline.store.workflow_store import WorkflowFilter

FINAL_STATUSES = tuple(s.value for s in ExecutionStatus if s.is_final)
"""The statuses of executions that can no longer change."""

# -- plumbing --------------------------------------------------------------------------------


def fetch(connection: Connection, statement: Any) -> Sequence[RowMapping]:
    """All rows of a statement as mappings."""
    return connection.execute(statement).mappings().all()


def rowcount(connection: Connection, statement: Any) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return int(connection.execute(statement).rowcount)


def run(statement: Any) -> Callable[[Connection], None]:
    """A writer action that executes one statement."""

    def action(connection: Connection) -> None:
        connection.execute(statement)

    return action


def notify(connection: Connection, channel: str, payload: str = "") -> None:
    """Send a PostgreSQL notification on a channel; it is delivered when the transaction commits."""
    connection.execute(select(func.pg_notify(channel, payload)))


# -- workflows -------------------------------------------------------------------------------


def current_version(key: str) -> Select[Any]:
    """The current version of a key."""
    return select(workflows).where(workflows.c.key == key, workflows.c.current.is_(True))


def find_workflows(query: WorkflowFilter) -> Select[Any]:
    """One page of current versions matching a filter, ordered by key."""
    c = workflows.c
    statement = select(workflows).where(c.current.is_(True)).order_by(c.key, c.id)
    if query.enabled is not None:
        statement = statement.where(c.enabled == query.enabled)
    if query.type is not None:
        statement = statement.where(c.type == query.type)
    if query.text:
        # icontains is lower(column) LIKE lower(pattern) with % and _ escaped, on both databases.
        statement = statement.where(
            or_(
                *(column.icontains(query.text, autoescape=True) for column in (c.key, c.title, c.description))
            )
        )
    return statement.limit(query.limit).offset(query.offset)


def retire_versions(key: str, now: datetime, *, keep: int | None = None) -> Update:
    """Disable every version of a key (but `keep`) and make none of them current."""
    c = workflows.c
    retire = update(workflows).where(c.key == key, or_(c.enabled.is_(True), c.current.is_not(None)))
    if keep is not None:
        retire = retire.where(c.id != keep)
    return retire.values(enabled=False, current=None, updated_at=now)


def insert_flow(connection: Connection, flow: Flow, now: datetime) -> None:
    """Insert a version; enabled it takes over its key, otherwise it is current only if none is."""
    workflow = flow.workflow
    if workflow.enabled:
        connection.execute(retire_versions(workflow.key, now))
        current = True
    else:
        holder = connection.scalar(current_version(workflow.key).with_only_columns(workflows.c.id).limit(1))
        current = holder is None
    connection.execute(workflows.insert(), [workflow_row(workflow, current=current, now=now)])
    if flow.nodes:
        connection.execute(nodes.insert(), [node_row(node) for node in flow.nodes])


def load_flow(connection: Connection, query: Select[Any]) -> Flow | None:
    """The first workflow a query finds, with its nodes in id order."""
    row = connection.execute(query.limit(1)).mappings().first()
    if row is None:
        return None
    node_query = select(nodes).where(nodes.c.workflow_id == row["id"]).order_by(nodes.c.id)
    node_rows = fetch(connection, node_query)
    return Flow(to_workflow(row), tuple(to_node(n) for n in node_rows))


def set_enabled(connection: Connection, workflow_id: int, enabled: bool, now: datetime) -> None:
    """Enable a version (taking over its key) or disable it (it stays current); unknown ids do nothing."""
    c = workflows.c
    if enabled:
        key = connection.scalar(select(c.key).where(c.id == workflow_id))
        if key is None:
            return
        # The others first: the unique index on (key, current) must never see two current rows.
        connection.execute(retire_versions(key, now, keep=workflow_id))
        changed = or_(c.enabled.is_(False), c.current.is_(None))
        values: dict[str, Any] = {"enabled": True, "current": True}
    else:
        changed = c.enabled.is_(True)
        values = {"enabled": False}
    connection.execute(update(workflows).where(c.id == workflow_id, changed).values(**values, updated_at=now))


def delete_versions(connection: Connection, key: str, *, lock: bool) -> int:
    """Delete every version of a key with its nodes and remaining executions; how many executions."""
    versions = select(workflows.c.id).where(workflows.c.key == key)
    if lock:
        # An insert referencing a version takes a key-share lock on it: holding the rows for
        # update keeps new executions out until the versions are gone, so no foreign key breaks.
        connection.execute(versions.with_for_update())
    of_key = executions.c.workflow_id.in_(versions)
    connection.execute(delete(jobs).where(jobs.c.execution_id.in_(select(executions.c.id).where(of_key))))
    deleted = rowcount(connection, delete(executions).where(of_key))
    connection.execute(delete(nodes).where(nodes.c.workflow_id.in_(versions)))
    connection.execute(delete(workflows).where(workflows.c.key == key))
    return deleted


# -- executions ------------------------------------------------------------------------------


def find_executions(query: ExecutionFilter) -> Select[Any]:
    """Executions matching a filter, newest first, up to its limit."""
    c = executions.c
    statement = select(executions).order_by(c.id.desc()).limit(query.limit)
    if query.workflow_key is not None:
        statement = statement.where(c.key == query.workflow_key)
    if query.workflow_id is not None:
        statement = statement.where(c.workflow_id == query.workflow_id)
    if query.status is not None:
        statement = statement.where(c.status == query.status.value)
    if query.before_id is not None:
        statement = statement.where(c.id < query.before_id)
    if query.created_after is not None:
        statement = statement.where(c.created_at >= query.created_after)
    if query.created_before is not None:
        statement = statement.where(c.created_at < query.created_before)
    return statement


def renew(worker_id: str, execution_ids: Sequence[int], expires_at: datetime, now: datetime) -> Update:
    """Push the claims this worker still holds on `started` executions; RETURNING their ids.

    A lapsed claim on an execution with a concurrency limit is not renewed: its place may have
    gone to another execution of its key meanwhile, and two must not run beyond the limit.
    """
    c = executions.c
    return (
        update(executions)
        .where(
            c.id.in_(list(execution_ids)),
            c.claimed_by == worker_id,
            c.status == ExecutionStatus.STARTED.value,
            or_(c.concurrency.is_(None), c.claim_expires_at > now),
        )
        .values(claim_expires_at=expires_at)
        .returning(c.id)
    )


def release(execution_id: int, worker_id: str, run_after: datetime, error: str | None) -> Update:
    """Drop this worker's claim on a `started` execution, runnable again from `run_after`.

    It stays `started` (it has begun and may have jobs) with no claim, which the claim
    query treats as runnable once `run_after` has passed; `error` says why it waits.
    """
    return _claimed(execution_id, worker_id).values(
        claimed_by=None, claim_expires_at=None, run_after=run_after, error=error
    )


def suspend(execution_id: int, worker_id: str, run_after: datetime) -> Update:
    """Make this worker's `started` execution `waiting` until `run_after`, without a claim.

    Its attempt count stays: the claim that resumes a waiting row does not count one more (a wait
    is not an attempt, so a long chain of waits never uses up `max_attempts`).
    """
    return _claimed(execution_id, worker_id).values(
        status=ExecutionStatus.WAITING.value, claimed_by=None, claim_expires_at=None, run_after=run_after
    )


def _claimed(execution_id: int, worker_id: str) -> Update:
    """An UPDATE of one execution that is still `started` under this worker's claim."""
    c = executions.c
    return update(executions).where(
        c.id == execution_id, c.claimed_by == worker_id, c.status == ExecutionStatus.STARTED.value
    )


def wake(execution_id: int, now: datetime) -> Update:
    """Make a `waiting` execution due now (what it waited for has happened)."""
    c = executions.c
    return (
        update(executions)
        .where(c.id == execution_id, c.status == ExecutionStatus.WAITING.value)
        .values(run_after=now)
    )


def expire(worker_id: str | None, *, keep: Sequence[int] = (), expiring_by: datetime | None = None) -> Update:
    """Remove the claims (and any back-off) of `started` executions: all, or one worker's.

    `keep`: executions whose claims stay; `expiring_by`: only claims that expire by then.
    """
    c = executions.c
    expire = (
        update(executions)
        .where(c.status == ExecutionStatus.STARTED.value)
        .values(claimed_by=None, claim_expires_at=None, run_after=None)
    )
    if worker_id is not None:
        expire = expire.where(c.claimed_by == worker_id)
    if keep:
        expire = expire.where(c.id.not_in(list(keep)))
    if expiring_by is not None:
        expire = expire.where(c.claim_expires_at <= expiring_by)
    return expire


def cancel(execution_id: int, now: datetime) -> Update:
    """Make an unfinished (`queued`, `started` or `waiting`) execution `canceled` and release its claim."""
    c = executions.c
    return (
        update(executions)
        .where(c.id == execution_id, c.status.in_(RUNNABLE_STATUSES))
        .values(
            status=ExecutionStatus.CANCELED.value,
            finished_at=now,
            error="canceled",
            claimed_by=None,
            claim_expires_at=None,
        )
    )


def requeue(connection: Connection, execution_id: int, drop_job_ids: Sequence[int]) -> bool:
    """Queue a finished execution again and drop the named jobs; False when it was not finished."""
    c = executions.c
    again = (
        update(executions)
        .where(c.id == execution_id, c.status.in_(FINAL_STATUSES))
        .values(
            status=ExecutionStatus.QUEUED.value,
            error=None,
            finished_at=None,
            claimed_by=None,
            claim_expires_at=None,
            run_after=None,
            # A new run gets the whole attempt budget; the old count would make it give up at once.
            attempt=0,
        )
    )
    if rowcount(connection, again) != 1:
        return False  # never drop jobs of an execution that may be running
    if drop_job_ids:
        dropped = jobs.c.id.in_(list(drop_job_ids))
        connection.execute(delete(jobs).where(jobs.c.execution_id == execution_id, dropped))
    return True


def of_key(key: str) -> list[ColumnElement[bool]]:
    """The conditions for executions of any version of a key."""
    return [executions.c.workflow_id.in_(select(workflows.c.id).where(workflows.c.key == key))]


def expired(rule: RetentionRule) -> list[ColumnElement[bool]] | None:
    """The conditions for executions a retention rule lets go, or None when it matches nothing."""
    wanted = rule.statuses if rule.statuses is not None else tuple(ExecutionStatus)
    statuses = [s.value for s in wanted if s.is_final]
    if not statuses or not rule.workflow_ids:
        return None
    c = executions.c
    return [
        c.workflow_id.in_(list(rule.workflow_ids)),
        c.status.in_(statuses),
        c.finished_at < rule.finished_before,
    ]


def delete_executions(
    connection: Connection, conditions: list[ColumnElement[bool]], *, limit: int, lock: bool
) -> int:
    """Delete the oldest `limit` executions matching the conditions, jobs first; how many."""
    chosen = select(executions.c.id).where(*conditions).order_by(executions.c.id).limit(limit)
    if lock:
        # Locking the chosen rows keeps a concurrent requeue from reviving one whose jobs go.
        chosen = chosen.with_for_update(skip_locked=True)
    ids = list(connection.execute(chosen).scalars())
    if ids:
        connection.execute(delete(jobs).where(jobs.c.execution_id.in_(ids)))
        connection.execute(delete(executions).where(executions.c.id.in_(ids)))
    return len(ids)


def count_by_status(since: datetime | None = None) -> Select[Any]:
    """(workflow key, status, count) for every pair that has executions (created since `since`)."""
    c = executions.c
    query = select(c.key, c.status, func.count().label("count")).group_by(c.key, c.status)
    return query if since is None else query.where(c.created_at >= since)
