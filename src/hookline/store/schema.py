"""The database schema: workflows, nodes, executions, jobs and dedupe keys as SQLAlchemy Core tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

RUNNABLE_STATUSES = ("queued", "started", "waiting")
"""The statuses a worker may claim; the partial indexes below cover exactly these rows."""


def is_one_of(column: ColumnElement[str], values: Sequence[ColumnElement[str] | str]) -> ColumnElement[bool]:
    """`+column = a OR +column = b OR …` (SQLite; without the `+` elsewhere): a status condition as
    the claim indexes and the claims write it.

    Not `IN (…)`: SQLite checks each partial index's condition on every insert and update of a row,
    and an IN list of three or more values builds a temporary table each time (3.4 µs more per
    insert with two such indexes). The unary `+` keeps SQLite from answering the OR with three
    searches of the status index and a sort (it then reads the claim index in order, as it did
    with `IN`); the partial index is used because the claims repeat the condition exactly.
    """
    unindexed = _Unindexed(column)
    return or_(*(unindexed == value for value in values))


class _Unindexed(FunctionElement[str]):
    """A column that SQLite must not look up in an index for this term: `+column` there."""

    name = "unindexed"
    inherit_cache = True
    type = String()


@compiles(_Unindexed)
def _plain_column(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    """Elsewhere (PostgreSQL has no unary plus on text): the column itself."""
    return compiler.process(element.clauses, **kw)


@compiles(_Unindexed, "sqlite")
def _unindexed_column(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    """On SQLite: the column behind a unary plus, which no index can serve."""
    return f"+{compiler.process(element.clauses, **kw)}"


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always a timezone-aware UTC datetime in Python.

    PostgreSQL stores `timestamptz`. SQLite stores SQLAlchemy's fixed-width text form of the
    UTC time, so comparing two stored values (as the claim query does) compares instants.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; SQLite gets the naive UTC time because it cannot keep an offset."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware, got the naive {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime whatever the driver returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json() -> TypeEngine[Any]:
    """A JSON column: JSONB on PostgreSQL, JSON text elsewhere."""
    return JSON().with_variant(JSONB(), "postgresql")


def _id() -> Column[int]:
    """The primary key: a snowflake id the application gives (`hookline.ids`), never the database."""
    return Column("id", BigInteger, primary_key=True, autoincrement=False)


def _owner(name: str, table: str, *, nullable: bool = False) -> Column[int]:
    """The row this one belongs to (its rows found by an index): deleting that row deletes this one."""
    return Column(
        name, BigInteger, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

workflows = Table(
    "workflows",
    metadata,
    _id(),
    Column("key", String(255), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("type", String(64), nullable=False),
    Column("sync", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    # NULL rather than false for old versions, so the unique index allows one true per key.
    Column("current", Boolean, nullable=True),
    Column("config", _json(), nullable=False),
    Column("options", _json(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("uq_workflows_key_current", "key", "current", unique=True),
)

nodes = Table(
    "nodes",
    metadata,
    _id(),
    _owner("workflow_id", "workflows"),
    Column("key", String(255), nullable=False),
    Column("type", String(64), nullable=False),
    Column("title", Text, nullable=True),
    Column("config", _json(), nullable=False),
    Column("upstream_id", BigInteger, nullable=True),
    Column("downstream_id", BigInteger, nullable=True),
    Column("branch_index", Integer, nullable=True),
)

executions = Table(
    "executions",
    metadata,
    _id(),
    Column("workflow_id", BigInteger, ForeignKey("workflows.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("event_key", Text, nullable=False, unique=True),
    Column("context", _json(), nullable=False),
    Column("status", String(32), nullable=False),
    Column("output", _json(), nullable=True),
    Column("response", _json(), nullable=True),
    Column("error", Text, nullable=True),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("claimed_by", String(255), nullable=True),
    Column("claim_expires_at", UtcDateTime(), nullable=True),
    # Not claimable before this time: a run paused by an outage waits out its back-off here.
    Column("run_after", UtcDateTime(), nullable=True),
    # The workflow version's back-pressure options (docs/reference/execution.md#concurrency) when
    # the execution was accepted; NULL for none. A version with executions is frozen, so these are
    # its options, kept where the queue looks.
    Column("concurrency", Integer, nullable=True),
    Column("queue_limit", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Index("ix_executions_status_id", "status", "id"),
    Index("ix_executions_key_id", "key", "id"),
    # Per version: counting, listing and deleting its executions, the janitor, and the
    # foreign-key check when a version is deleted.
    Index("ix_executions_workflow_id_id", "workflow_id", "id"),
)

# Only unfinished rows, so claiming stays one short index scan however many finished rows pile up.
# Rows waiting for their `run_after` stay in it: they are few, and the claim filters them out.
# Rows with a concurrency limit are left to the next index, so a backlog of them held back by
# their limit is never scanned by the claims of everything else.
_runnable = and_(is_one_of(executions.c.status, RUNNABLE_STATUSES), executions.c.concurrency.is_(None))
Index(
    "ix_executions_runnable",
    executions.c.id,
    postgresql_where=_runnable,
    sqlite_where=_runnable,
)

# Unfinished rows with a concurrency limit, by key: the keys that have some (a skip scan), the
# running ones of a key (status 'started'), and the next to claim: `status DESC` puts the started
# rows to resume (after a crash or a back-off) before the queued ones, each group oldest first.
_limited = and_(is_one_of(executions.c.status, RUNNABLE_STATUSES), executions.c.concurrency.is_not(None))
Index(
    "ix_executions_limited",
    executions.c.key,
    executions.c.status.desc(),
    executions.c.id,
    postgresql_where=_limited,
    sqlite_where=_limited,
)

# Queued rows with a queue limit, by key: what the queue-limit check counts, and the counts the
# default queue limits are checked against (every execution the dispatcher queues has a limit: the
# workflow's own, or the default).
_bounded = and_(executions.c.status == "queued", executions.c.queue_limit.is_not(None))
Index("ix_executions_bounded", executions.c.key, postgresql_where=_bounded, sqlite_where=_bounded)

jobs = Table(
    "jobs",
    metadata,
    _id(),
    _owner("execution_id", "executions"),
    Column("node_id", BigInteger, nullable=False),
    Column("node_key", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("result", _json(), nullable=True),
    Column("meta", _json(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
)

# Idempotency keys (`options.dedupe`): which execution holds a key, and the answer it gave (NULL while
# a synchronous run holds it), until `expires_at`. No foreign key: retention may delete the execution
# while its key still answers duplicates.
dedupe_keys = Table(
    "dedupe_keys",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("execution_id", BigInteger, nullable=False),
    Column("response", _json(), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=False),
    # The janitor deletes the expired keys, oldest first.
    Index("ix_dedupe_keys_expires_at", "expires_at"),
)

# Requests admitted under rate limits (`options.rateLimit`), summed over every process that shares
# the database: per bucket (a workflow key, the limit's period, and a client address for per-address
# limits) and window (its start, in whole seconds since the epoch). Unlogged on PostgreSQL (see
# migration 0006): the counts are worth no WAL, and losing them in a crash lets a window start over.
rate_counts = Table(
    "rate_counts",
    metadata,
    Column("bucket", String(200), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    # The janitor deletes the windows that ended long ago, oldest first.
    Index("ix_rate_counts_window_start", "window_start"),
)

# "Listen for a test request" (docs/api.md#listen-for-a-test-request): a capture armed for a
# workflow key until `expires_at` takes the next request to that key (`request`, at `captured_at`)
# instead of running it. Any process may arm one and any other may fill it, so the state lives
# here (see migration 0007).
captures = Table(
    "captures",
    metadata,
    _id(),
    Column("key", String(255), nullable=False),
    Column("request", _json(), nullable=True),
    Column("armed_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("captured_at", UtcDateTime(), nullable=True),
    # A request looks for the oldest armed capture of its key; the janitor deletes old ones by expiry.
    Index("ix_captures_key_id", "key", "id"),
    Index("ix_captures_expires_at", "expires_at"),
)

# Files of multipart webhook bodies (`config.request.files`), kept with their execution: the row is
# written before the bytes (no execution yet, only the id it will have; see `store/_files.py`), and
# its chunks follow in order. Deleting the execution (retention, a deleted workflow) deletes its files
# and their chunks with it.
files = Table(
    "files",
    metadata,
    _id(),
    _owner("execution_id", "executions", nullable=True),
    # The id the request's execution gets when it is recorded (no foreign key: it does not exist yet).
    Column("planned_execution_id", BigInteger, nullable=True),
    Column("filename", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    # NULL until the last byte is in: a file without one was never finished.
    Column("sha256", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # The janitor settles the files a request left unattached (its process died), oldest first.
    Index(
        "ix_files_created_at_unattached",
        "created_at",
        postgresql_where=text("execution_id IS NULL"),
        sqlite_where=text("execution_id IS NULL"),
    ),
)

file_chunks = Table(
    "file_chunks",
    metadata,
    Column("file_id", BigInteger, ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)
