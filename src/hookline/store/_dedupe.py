"""The SQL of idempotency keys: claim a key, read its holder, store its answer, free it, expire it.

A claim is one `INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at <= now RETURNING`: it
inserts a free key, takes over an expired one, and returns nothing for a live one, whose holder
is then read in the same transaction. The writer runs it, on PostgreSQL under an advisory lock
per key taken before anything else of the batch (`DEDUPE_LOCKS`): two batches that both claim
keys K1 and K2 would otherwise wait for each other's row in opposite orders, a deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hookline.models import DedupeHolder, DedupeKey
from hookline.store import _queue as queue
from hookline.store._sqlite_prepared import PreparedStatement
from hookline.store.schema import UtcDateTime, dedupe_keys, executions
from hookline.store.schema import jobs as jobs_table
from hookline.store.write_steps import Lock

DEDUPE_LOCKS = 0x686C_0003
"""The advisory lock space (first int of the pair) of idempotency keys, one lock per key."""

_CLAIM_ATTEMPTS = 3
"""A live key can expire (and be deleted) between the claim and the read of its holder: try again."""


def lock(key: str) -> Lock:
    """The writer step that serialises the transactions touching one key (on PostgreSQL)."""
    return Lock(DEDUPE_LOCKS, queue.lock_key(key))


def claim(
    connection: Connection,
    dedupe: DedupeKey,
    execution_id: int,
    response: dict[str, Any] | None,
    now: datetime,
) -> DedupeHolder:
    """Take the key for this execution (with its answer, if known) unless it is live; its holder."""
    parameters = {
        "new_key": dedupe.key,
        "new_execution_id": execution_id,
        "new_response": response,
        "new_expires_at": dedupe.expires_at,
        "now": now,
    }
    statement = _CLAIMS[connection.dialect.name]
    for _ in range(_CLAIM_ATTEMPTS):
        if statement.fetch(connection, parameters):
            return DedupeHolder(execution_id, response)
        held = _HOLDER.fetch(connection, {"held_key": dedupe.key})
        if held:
            return DedupeHolder(held[0]["execution_id"], held[0]["response"])
    raise RuntimeError(f"the dedupe key {dedupe.key} neither could be claimed nor had a holder")


def add_execution(
    connection: Connection,
    dedupe: DedupeKey,
    row: dict[str, Any],
    now: datetime,
    *,
    bounded: bool,
    jobs: Sequence[dict[str, Any]] = (),
) -> DedupeHolder | None:
    """Claim the key for an execution's row and insert the row and its `jobs` rows; see
    `add_deduplicated_execution`.

    A `bounded` row (its workflow's own queue limit) is inserted only below it
    (`_queue.insert_bounded`, whose lock the caller holds); refused, the key is given back and
    None returned.
    """
    holder = claim(connection, dedupe, row["id"], row["response"], now)
    if holder.execution_id != row["id"]:
        return holder
    if not bounded:
        _INSERT_EXECUTION.run(connection, row)
    elif not queue.insert_bounded(connection, row):
        _FORGET.run(connection, {"forgotten_key": dedupe.key, "forgotten_id": row["id"]})
        return None
    for job in jobs:
        _INSERT_JOB.run(connection, job)
    return holder


def answer(
    dedupe: DedupeKey, execution_id: int, response: dict[str, Any] | None
) -> Callable[[Connection], None]:
    """A writer action storing an execution's answer under its key, while that execution holds it."""
    parameters = {
        "answered_key": dedupe.key,
        "answered_id": execution_id,
        "new_response": response,
        "new_expires_at": dedupe.expires_at,
    }

    def store(connection: Connection) -> None:
        _ANSWER.run(connection, parameters)

    return store


def holder(connection: Connection, key: str, now: datetime) -> DedupeHolder | None:
    """The live holder of a key, or None."""
    rows = _LIVE_HOLDER.fetch(connection, {"held_key": key, "now": now})
    return DedupeHolder(rows[0]["execution_id"], rows[0]["response"]) if rows else None


def release(connection: Connection, key: str, execution_id: int) -> None:
    """Free a key this execution holds without an answer."""
    _RELEASE.run(connection, {"released_key": key, "released_id": execution_id})


def delete_expired(connection: Connection, now: datetime, limit: int, *, lock: bool) -> int:
    """Delete up to `limit` keys expired at `now`, oldest first; how many.

    `lock` (PostgreSQL): skip the keys a claim is taking over right now rather than wait for them.
    """
    chosen = select(_c.key).where(_c.expires_at <= now).order_by(_c.expires_at).limit(limit)
    if lock:
        chosen = chosen.with_for_update(skip_locked=True)
    keys = list(connection.execute(chosen).scalars())
    if keys:
        # The expiry is checked again: a key chosen on SQLite cannot change, on PostgreSQL it is locked.
        connection.execute(delete(dedupe_keys).where(_c.key.in_(keys), _c.expires_at <= now))
    return len(keys)


# -- statements, built once -------------------------------------------------------------------

_c = dedupe_keys.c
_NOW = bindparam("now", type_=UtcDateTime())
_RESPONSE = JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
"""The answer's type as bound here: None is SQL NULL (a key still running), never the JSON `null`."""


def _new(name: str) -> Any:
    """The parameter `new_<name>` typed as the column (the answer: None as SQL NULL)."""
    return bindparam(f"new_{name}", type_=_RESPONSE if name == "response" else _c[name].type)


def _claim(insert: Callable[[Any], Any]) -> PreparedStatement:
    """The claim in one dialect's INSERT … ON CONFLICT form (both spell it alike)."""
    statement = insert(dedupe_keys).values({column.name: _new(column.name) for column in _c})
    taken = {name: statement.excluded[name] for name in ("execution_id", "response", "expires_at")}
    upsert = statement.on_conflict_do_update(index_elements=[_c.key], set_=taken, where=_c.expires_at <= _NOW)
    return PreparedStatement(upsert.returning(_c.execution_id))


_CLAIMS = {"sqlite": _claim(sqlite.insert), "postgresql": _claim(postgresql.insert)}
_HOLDER = PreparedStatement(select(_c.execution_id, _c.response).where(_c.key == bindparam("held_key")))
_LIVE_HOLDER = PreparedStatement(
    select(_c.execution_id, _c.response).where(_c.key == bindparam("held_key"), _c.expires_at > _NOW)
)
_ANSWER = PreparedStatement(
    update(dedupe_keys)
    .where(_c.key == bindparam("answered_key"), _c.execution_id == bindparam("answered_id"))
    .values(response=_new("response"), expires_at=_new("expires_at"))
)
_RELEASE = PreparedStatement(
    delete(dedupe_keys).where(
        _c.key == bindparam("released_key"),
        _c.execution_id == bindparam("released_id"),
        _c.response.is_(None),
    )
)
_FORGET = PreparedStatement(
    delete(dedupe_keys).where(
        _c.key == bindparam("forgotten_key"), _c.execution_id == bindparam("forgotten_id")
    )
)
_INSERT_EXECUTION = PreparedStatement(executions.insert())
"""One execution row (every column, as `execution_row` gives them)."""
_INSERT_JOB = PreparedStatement(jobs_table.insert())
"""One job row (every column, as `job_row` gives them)."""
