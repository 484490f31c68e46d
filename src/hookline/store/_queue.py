"""The SQL of the queue: claims, within the workflows' concurrency limits, and the bounded enqueue.

An execution whose workflow sets `options.concurrency` carries that number (column `concurrency`).
The plain claim never takes those. `claim` first visits the keys that have some ready and, key by
key, takes at most the places the key has free: its limit minus its `started` executions whose
claim is live. A lapsed claim (its process died) frees its place; whatever waits is left queued.

On PostgreSQL a key's decision is taken under an advisory lock that is only tried: two processes
never decide for one key at once, and a key that another process is deciding for is left to it
(its executions are claimed by that process, or at the next claim) instead of being waited for.
The queue-limit check counts and inserts under a lock of its own, taken first in the writer's
transaction (see `write_steps.Lock`). On SQLite the one writer runs both, one after the other.
`count_queued` gives the counts of every key at once, for the default queue limits (see `backlog`).
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Integer,
    Select,
    String,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from hookline.models import ExecutionStatus
from hookline.store._sqlite_prepared import PreparedStatement
from hookline.store.schema import RUNNABLE_STATUSES, UtcDateTime, executions, is_one_of, jobs

QUEUE_LOCKS = 0x686C_0001
"""The advisory lock space (first int of the pair) of the queue-limit check, one lock per key."""
RUN_LOCKS = 0x686C_0002
"""The advisory lock space of the concurrency decision in a claim, one lock per key."""


def lock_key(key: str) -> int:
    """A workflow key as the second int of an advisory lock; keys sharing a hash just take turns."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big", signed=True)


def claim(
    connection: Connection, worker_id: str, limit: int, expires_at: datetime, now: datetime, *, lock: bool
) -> list[Mapping[str, Any]]:
    """Claim up to `limit` executions: those under a concurrency limit first, then the rest, oldest first.

    Limited executions go first because each key of them takes no more than its free places,
    so they cannot crowd out the others, whereas a backlog of the others would starve them.
    `lock`: PostgreSQL, where other processes claim at the same time.
    """
    values = {"worker_id": worker_id, "expires_at": expires_at, "now": now}
    rows = _claim_limited(connection, values, limit, lock)
    if len(rows) < limit:
        rows += _plain_claim(lock).fetch(connection, {**values, "claim_limit": limit - len(rows)})
    return rows


def jobs_of(connection: Connection, execution_id: int) -> list[Mapping[str, Any]]:
    """The jobs rows of an execution in the order they were recorded (by id): its history, or what a
    worker resuming it replays (prepared: on the writer's own SQLite connection it runs on `sqlite3`)."""
    return list(_JOBS_OF.fetch(connection, {"execution_id": execution_id}))


def insert_bounded(connection: Connection, row: Mapping[str, Any]) -> bool:
    """Insert a queued execution's row unless its key has `row["queue_limit"]` queued; whether it did.

    One statement, INSERT … SELECT … WHERE (the count) < the limit, counting the queued
    executions of the key that were accepted under a queue limit. On PostgreSQL the caller
    holds the key's QUEUE_LOCKS lock, so no other transaction counts before this one commits.
    """
    return _INSERT_BOUNDED.run(connection, {f"new_{name}": value for name, value in row.items()}) == 1


def count_queued(connection: Connection) -> dict[str, int]:
    """How many executions of each key are queued, of those recorded with a queue limit.

    Read from `ix_executions_bounded` alone, in key order: about 10 ms per 100,000 queued on SQLite.
    """
    return {row["key"]: row["queued"] for row in _COUNT_QUEUED.fetch(connection, {})}


def _claim_limited(
    connection: Connection, values: dict[str, Any], limit: int, lock: bool
) -> list[Mapping[str, Any]]:
    """Claim, key by key, the limited executions whose keys have free places; at most `limit`."""
    if not _ANY_LIMITED.fetch(connection, {}):
        return []  # the usual case, found by one index probe (cheaper than the search below)
    keys = [row["key"] for row in _LIMITED_KEYS.fetch(connection, {"now": values["now"]})]
    # Fairness when the free places run out before the keys do: no key is always served last.
    random.shuffle(keys)
    claimed: list[Mapping[str, Any]] = []
    for key in keys:
        wanted = limit - len(claimed)
        if wanted <= 0:
            break
        if lock and not connection.scalar(_TRY_LOCK, {"space": RUN_LOCKS, "key": lock_key(key)}):
            continue  # another process is deciding for this key right now
        [state] = _KEY_STATE.fetch(connection, {"claim_key": key, "now": values["now"]})
        if state["concurrency"] is None:
            continue  # nothing of the key is ready any more
        free = min(wanted, state["concurrency"] - state["running"])
        if free > 0:
            parameters = {**values, "claim_key": key, "claim_limit": free}
            claimed += _key_claim(lock).fetch(connection, parameters)
    return claimed


# -- statements, built once -------------------------------------------------------------------

_c = executions.c
_NOW = bindparam("now", type_=UtcDateTime())
_KEY = bindparam("claim_key", type_=String())
_LIMIT = bindparam("claim_limit", type_=Integer())


class likely(FunctionElement[bool]):
    """A condition that most rows meet: SQLite's `likely(…)`, the condition itself elsewhere.

    Without statistics SQLite takes a status condition for a selective filter and reads the status
    index, then sorts: every claim and count would cost as much as the whole backlog. Told the
    condition is likely, it reads the partial index whose condition it is (in index order). The
    runnable statuses also write the column `+status` (`schema.is_one_of`): an OR of equalities
    would otherwise be answered from the status index, term by term.
    """

    name = "likely"
    inherit_cache = True


@compiles(likely)
def _condition(element: likely, compiler: SQLCompiler, **kw: Any) -> str:
    """Elsewhere (PostgreSQL plans from its statistics): just the condition, in parentheses (an OR)."""
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(likely, "sqlite")
def _likely(element: likely, compiler: SQLCompiler, **kw: Any) -> str:
    """On SQLite: the condition inside `likely()`, which its partial-index matching looks through."""
    return f"likely({compiler.process(element.clauses, **kw)})"


def _literal(status: str) -> ColumnElement[str]:
    """A status written into the SQL rather than bound.

    SQLite uses a partial index only when the query repeats its condition word for word, and
    plans a statement again on every run when a parameter is compared with an indexed column
    (a claim took 20 µs more for its `status = ?`).
    """
    return literal_column(f"'{status}'", String())


def _status(*statuses: str) -> ColumnElement[bool]:
    """The status condition as the partial indexes write it (`likely` does not hide it from SQLite)."""
    literals = [_literal(status) for status in statuses]
    return likely(is_one_of(_c.status, literals) if len(literals) > 1 else _c.status == literals[0])


def _runnable() -> ColumnElement[bool]:
    """The status condition of every unfinished row (both partial claim indexes repeat it)."""
    return _status(*RUNNABLE_STATUSES)


def _ready() -> list[ColumnElement[bool]]:
    """Claimable now: queued or waiting (never claimed), or started with no live claim; and due.

    A `waiting` row has no claim (suspending dropped it), so the claim condition holds for it
    and only its `run_after` decides.
    """
    return [
        or_(
            _c.status == _literal(ExecutionStatus.QUEUED.value),
            _c.claim_expires_at.is_(None),
            _c.claim_expires_at <= _NOW,
        ),
        or_(_c.run_after.is_(None), _c.run_after <= _NOW),
    ]


def _limited() -> list[ColumnElement[bool]]:
    """The condition of `ix_executions_limited`: unfinished, with a concurrency limit."""
    return [_runnable(), _c.concurrency.is_not(None)]


def _claiming(chosen: Select[Any]) -> PreparedStatement:
    """UPDATE the chosen rows to `started` under this worker's claim, RETURNING them whole.

    The claim clears `run_after`, counts the attempt (not for a `waiting` row, which goes on with
    the attempt it waited in), keeps `error` (the last attempt's reason) and sets `started_at` on
    the first claim only.
    """
    return PreparedStatement(
        update(executions)
        .where(_c.id.in_(chosen.scalar_subquery()))
        .values(
            status=ExecutionStatus.STARTED.value,
            claimed_by=bindparam("worker_id", type_=_c.claimed_by.type),
            claim_expires_at=bindparam("expires_at", type_=UtcDateTime()),
            run_after=None,
            # A waiting row resumes the attempt that let it wait: a wait is not an attempt.
            attempt=_c.attempt + case((_c.status == _literal(ExecutionStatus.WAITING.value), 0), else_=1),
            started_at=func.coalesce(_c.started_at, _NOW, type_=UtcDateTime()),
        )
        .returning(*executions.c)
    )


@functools.cache
def _plain_claim(lock: bool) -> PreparedStatement:
    """The oldest ready executions without a concurrency limit (FOR UPDATE SKIP LOCKED when locking)."""
    chosen = (
        select(_c.id).where(_runnable(), _c.concurrency.is_(None), *_ready()).order_by(_c.id).limit(_LIMIT)
    )
    return _claiming(chosen.with_for_update(skip_locked=True) if lock else chosen)


@functools.cache
def _key_claim(lock: bool) -> PreparedStatement:
    """The next ready executions of one limited key: the started ones to resume, then the queued ones.

    `status DESC` puts 'waiting' and 'started' before 'queued', in the order of `ix_executions_limited`.
    """
    chosen = (
        select(_c.id)
        .where(*_limited(), _c.key == _KEY, *_ready())
        .order_by(_c.status.desc(), _c.id)
        .limit(_LIMIT)
    )
    return _claiming(chosen.with_for_update(skip_locked=True) if lock else chosen)


def _limited_keys() -> Select[Any]:
    """The keys with a ready limited execution, in order: a skip scan, one index probe per key.

    A recursive query that asks for the first such key after the last one found, so a key
    with a long backlog costs no more than one with a single execution.
    """

    def first_key(after: ColumnElement[Any] | None) -> ColumnElement[Any]:
        query = select(_c.key).where(*_limited(), *_ready())
        if after is not None:
            query = query.where(_c.key > after)
        return query.order_by(_c.key).limit(1).scalar_subquery()

    found = select(first_key(None).label("key")).cte("limited_keys", recursive=True)
    found = found.union_all(select(first_key(found.c.key)).where(found.c.key.is_not(None)))
    return select(found.c.key).where(found.c.key.is_not(None))


def _key_state() -> Select[Any]:
    """One key's limit (that of its next execution to claim) and how many of it run with a live claim."""
    concurrency = (
        select(_c.concurrency)
        .where(*_limited(), _c.key == _KEY, *_ready())
        .order_by(_c.status.desc(), _c.id)
        .limit(1)
        .scalar_subquery()
    )
    running = (
        select(func.count())
        .select_from(executions)
        .where(
            *_limited(), _c.key == _KEY, _status(ExecutionStatus.STARTED.value), _c.claim_expires_at > _NOW
        )
        .scalar_subquery()
    )
    return select(concurrency.label("concurrency"), running.label("running"))


def _bounded() -> list[ColumnElement[bool]]:
    """The condition of `ix_executions_bounded`: queued, recorded with a queue limit."""
    return [_status(ExecutionStatus.QUEUED.value), _c.queue_limit.is_not(None)]


def _insert_bounded() -> Insert:
    """INSERT a row (parameters `new_<column>`) only while its key's queue is below the row's limit.

    The count reads `ix_executions_bounded`: the key's queued executions with a queue limit.
    """
    columns = list(executions.c)  # `execution_row` fills every one
    new = {column.name: bindparam(f"new_{column.name}", type_=column.type) for column in columns}
    queued = (
        select(func.count())
        .select_from(executions)
        .where(_c.key == new["key"], *_bounded())
        .scalar_subquery()
    )
    row = select(*(new[column.name] for column in columns)).where(queued < new["queue_limit"])
    return executions.insert().from_select([column.name for column in columns], row)


_ANY_LIMITED = PreparedStatement(select(_c.key).where(*_limited()).order_by(_c.key).limit(1))
"""Whether any unfinished execution has a concurrency limit (ordered by key: read from its index)."""
_LIMITED_KEYS = PreparedStatement(_limited_keys())
_KEY_STATE = PreparedStatement(_key_state())
_INSERT_BOUNDED = PreparedStatement(_insert_bounded())
_COUNT_QUEUED = PreparedStatement(
    select(_c.key, func.count().label("queued")).where(*_bounded()).group_by(_c.key).order_by(_c.key)
)
_JOBS_OF = PreparedStatement(
    select(jobs)
    .where(jobs.c.execution_id == bindparam("execution_id", type_=BigInteger()))
    .order_by(jobs.c.id)
)
_TRY_LOCK = select(
    func.pg_try_advisory_xact_lock(bindparam("space", type_=Integer()), bindparam("key", type_=Integer()))
)
