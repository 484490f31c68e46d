"""News across processes: a PostgreSQL LISTEN on a dedicated connection that calls back.

Every transaction that queues an execution sends `pg_notify(EXECUTIONS_CHANNEL, '')` (see
`SqlStore`), so a listener in each process can wake its workers at once instead of at their
next poll; every workflow change sends `pg_notify(WORKFLOWS_CHANNEL, <key>)`, so each process
drops its cached versions of that key at once instead of when they expire. The listener is only
a shortcut: workers keep polling and cached workflows expire, so a dropped connection or a
missed notification delays things by a poll interval or a cache lifetime, never loses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from typing import TypeAlias

import asyncpg
from sqlalchemy.engine import make_url

from hookline.store.database import database_url

log = logging.getLogger(__name__)

EXECUTIONS_CHANNEL = "hookline_executions"
"""The channel notified whenever an execution becomes runnable (queued, requeued, released)."""

WORKFLOWS_CHANNEL = "hookline_workflows"
"""The channel notified whenever a workflow changes; the payload is its key."""

Callback: TypeAlias = Callable[[str], None]
"""Called with a notification's payload ("" after a reconnection: anything may have changed)."""

APPLICATION_NAME = "hookline-listener"
"""How the listening connection shows up in `pg_stat_activity`."""


def listen_dsn(url: str) -> str:
    """The plain `postgresql://` URL asyncpg takes, from a hookline database URL."""
    return make_url(database_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """Keeps one asyncpg connection listening on channels; each notification calls its channel's callback.

    The connection is its own, not one from the SQLAlchemy pool: a LISTEN belongs to a
    session, and a pooled connection would be lent to other work. When the connection
    drops, the listener reconnects with exponential back-off (logged as warnings, never
    raised). Each new connection also calls every callback once with "", since
    notifications sent while it was away are lost.
    """

    def __init__(
        self,
        url: str,
        callbacks: Mapping[str, Callback],
        *,
        retry_min_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        check_seconds: float = 30.0,
        timeout: float = 10.0,
    ) -> None:
        self._dsn = listen_dsn(url)
        self._callbacks = dict(callbacks)
        self._retry_min = retry_min_seconds
        self._retry_max = retry_max_seconds
        self._check = check_seconds
        self._timeout = timeout
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connections = 0
        """How many times a connection started listening (1 + the reconnections)."""

    @property
    def listening(self) -> bool:
        """True while a connection is listening."""
        return self._listening.is_set()

    def start(self) -> None:
        """Connect and listen in the background (it returns at once, connected or not)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hookline-listener")

    async def wait_listening(self) -> None:
        """Return once a connection listens (for tests and start-up checks)."""
        await self._listening.wait()

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        """Listen, and reconnect after every loss or failure, waiting longer after each failure."""
        delay = self._retry_min
        while True:
            try:
                await self._listen_until_lost()
                log.warning("the connection listening for wake-ups was lost; reconnecting")
                delay = self._retry_min
            except Exception as error:  # never crash: the workers' polling covers the gap
                log.warning(
                    "cannot listen for wake-ups on PostgreSQL (%s); retrying in %.1f s",
                    _describe(error),
                    delay,
                )
            await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 (spread, not secrecy)
            delay = min(delay * 2, self._retry_max)

    async def _listen_until_lost(self) -> None:
        """Connect, LISTEN, call back once, then return when the connection is lost."""
        # asyncio.timeout, never wait_for: on Python 3.11 wait_for can swallow the cancel of stop().
        async with asyncio.timeout(self._timeout):
            connection = await asyncpg.connect(
                self._dsn, server_settings={"application_name": APPLICATION_NAME}
            )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            async with asyncio.timeout(self._timeout):
                for channel in self._callbacks:
                    await connection.add_listener(channel, self._notified)
            self.connections += 1
            for channel in self._callbacks:
                self._call_back(channel, "")  # whatever happened while nobody listened
            self._listening.set()
            with contextlib.suppress(Exception):  # any failure from here on is a lost connection
                await self._watch(connection, lost)
        finally:
            self._listening.clear()
            await close_connection(connection)

    async def _watch(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection closes; a silent network may hide that, so ask now and then."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check):
                    await lost.wait()
                return
            async with asyncio.timeout(self._timeout):
                await connection.fetchval("SELECT 1")

    def _notified(self, _connection: object, _pid: int, channel: str, payload: object) -> None:
        """asyncpg's listener callback."""
        self._call_back(channel, payload if isinstance(payload, str) else "")

    def _call_back(self, channel: str, payload: str) -> None:
        """Call the channel's callback; its failure is logged, never allowed to stop the listening."""
        try:
            self._callbacks[channel](payload)
        except Exception:
            log.exception("the callback of %s failed", channel)


async def close_connection(connection: asyncpg.Connection) -> None:
    """Close an asyncpg connection politely when the server still answers, otherwise drop the socket."""
    if connection.is_closed():
        return
    try:
        async with asyncio.timeout(1.0):
            await connection.close()
    except Exception:
        connection.terminate()


def _describe(error: BaseException) -> str:
    """One line about a connection error, without a stack trace."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
