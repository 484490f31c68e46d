"""Engines: user database URLs to async drivers, SQLite pragmas, and "the database is unreachable"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from hookline.errors import ConfigError, StorageUnavailable
from hookline.store.files import prepare_database_file

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)
"""Run on every new SQLite connection: WAL for concurrent readers, FULL so a commit survives power loss."""

WRITE_OPTIONS = {"hookline_sqlite_begin": "BEGIN IMMEDIATE"}
"""Execution options for a connection that writes: on SQLite its transactions take the write lock first."""

# SQLSTATE classes that mean "the server cannot serve us now", not "this statement is wrong":
# 08 connection, 28 refused credentials, 53 insufficient resources, 57 operator intervention
# (shutdown, statement timeout), 58 system error, and 3D000 for a database that does not exist.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "28", "53", "57", "58")
_UNAVAILABLE_SQLSTATES = ("3D000",)

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def database_url(url: str) -> str:
    """The async-driver URL for a user URL: `sqlite:///…` → aiosqlite, `postgres(ql)://…` → asyncpg."""
    scheme, separator, rest = url.partition("://")
    driver = _DRIVERS.get(scheme.lower())
    if not separator or driver is None:
        raise ConfigError(
            f"Unsupported database URL {_hide_password(url)!r}: use sqlite:///path/to/file.db "
            "or postgresql://user:password@host/database."
        )
    return f"{driver}://{rest}"


def create_engine(url: str) -> AsyncEngine:
    """An async engine for a user URL; SQLite files get their folder, a private file and pragmas."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            parsed, json_serializer=dump_json, json_deserializer=_load_json, pool_pre_ping=True
        )
    database = str(parsed.database)
    if not is_memory_url(parsed) and not database.startswith("file:"):  # a URI is SQLite's to open
        prepare_database_file(Path(database).expanduser())
    engine = create_async_engine(parsed, json_serializer=dump_json, json_deserializer=_load_json)
    _set_sqlite_pragmas(engine.sync_engine)
    _begin_through_sqlalchemy(engine.sync_engine)
    return engine


def sqlite_sync_engine(url: URL) -> Engine:
    """A synchronous engine (stdlib sqlite3) on the SQLite file of an async engine's URL.

    It holds one connection, meant for one thread (the writer's fast path), with the same
    pragmas and JSON serialisation as the async engine. Its user emits BEGIN IMMEDIATE and
    COMMIT itself: SQLAlchemy's own BEGIN sends nothing here, and its commit sends COMMIT.
    """
    engine = create_sync_engine(
        url.set(drivername="sqlite"),
        poolclass=StaticPool,
        json_serializer=dump_json,
        json_deserializer=_load_json,
    )
    _set_sqlite_pragmas(engine)
    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def is_sqlite_url(url: str) -> bool:
    """True when a user URL names an SQLite database."""
    return make_url(database_url(url)).get_backend_name() == "sqlite"


def is_memory_url(url: URL) -> bool:
    """True for an SQLite URL whose database lives in memory (one connection only)."""
    database = url.database or ""
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )


def is_memory(engine: AsyncEngine) -> bool:
    """True when the engine's database lives in memory, so every statement must share one connection."""
    return is_sqlite(engine) and is_memory_url(engine.url)


def is_unavailable(error: BaseException) -> bool:
    """True when an error means the database cannot be reached or cannot work now."""
    if isinstance(error, StorageUnavailable | OSError):  # OSError includes TimeoutError
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, exc.InterfaceError | exc.OperationalError):
            return True
        return _has_unavailable_sqlstate(error.orig)
    return False


def unavailable(error: BaseException) -> StorageUnavailable:
    """The StorageUnavailable to raise for an error that `is_unavailable`."""
    if isinstance(error, StorageUnavailable):
        return error
    if isinstance(error, TimeoutError):
        return StorageUnavailable("The database did not answer in time.")
    return StorageUnavailable("The database cannot be reached or cannot store data right now.")


def _has_unavailable_sqlstate(orig: BaseException | None) -> bool:
    """Whether a driver error carries a SQLSTATE of the "cannot serve now" kind."""
    sqlstate = getattr(orig, "sqlstate", None)
    if not isinstance(sqlstate, str):
        return False
    return sqlstate in _UNAVAILABLE_SQLSTATES or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


def dump_json(value: Any) -> str:
    """orjson as the engine's JSON serialiser (it wants text)."""
    return orjson.dumps(value).decode()


def _load_json(value: str | bytes | int | float) -> Any:
    """orjson as the engine's JSON deserialiser.

    SQLite gives a JSON column NUMERIC affinity, so a document that is a bare number comes
    back as that number (and a float with an integral value, such as 2.0, as an int).
    """
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


def _set_sqlite_pragmas(engine: Engine) -> None:
    """Set the pragmas on every new connection, and stop sqlite3 from beginning transactions itself."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # sqlite3's own implicit BEGIN would be DEFERRED and would skip plain SELECTs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()


def _begin_through_sqlalchemy(engine: Engine) -> None:
    """Let SQLAlchemy emit BEGIN, so writers can ask for BEGIN IMMEDIATE."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the lock up front: upgrading a read transaction later can fail at once.
        connection.exec_driver_sql(connection.get_execution_options().get("hookline_sqlite_begin", "BEGIN"))


def _hide_password(url: str) -> str:
    """The URL with any password masked, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return url
