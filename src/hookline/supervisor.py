"""The supervisor of `hookline serve --processes N`: N server processes on the same port(s).

The parent binds the listening sockets before any child starts, so the port is taken once, a
busy port is a clean error, and connections that arrive while a child (re)starts wait in the
kernel's backlog instead of being refused. Each child gets its own socket per port, bound with
`SO_REUSEPORT`: the kernel spreads new connections over the children's sockets evenly, whereas
one shared socket goes to whichever child wakes first (a burst of keep-alive connections can all
land on one of them). The parent keeps every socket open, so the socket of a child that died
keeps its queued connections for the child that replaces it.

A child is a fresh interpreter (multiprocessing's `spawn`, never a fork of a parent that has run
threads) that calls `target(sockets, slot, *args)` (`slot`: which of the N it is, kept by its
replacement) and exits with the status it returns. The parent:

- restarts a child that exits on its own after starting: the others go on serving, and what the
  dead one held is handed over by the store (on SQLite its claims lapse after their lease);
- stops everything and exits 1 when a child reports `STARTUP_FAILURE`: its replacement would fail
  the same way (bad settings, an unreachable database), and a restart loop would hide that;
- on SIGTERM or SIGINT, passes SIGTERM on to every child (each shuts down gracefully, giving its
  running executions their grace period), waits for all of them, and exits 0.

A child whose parent disappears (SIGKILLed) shuts itself down, so no orphan keeps the port.
Before any child starts, `serve_processes` creates or upgrades an SQLite file and frees the claims
of the previous run: a child never does, since the claims it would free may be a sibling's.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from sqlalchemy.engine import make_url

from hookline.errors import ConfigError
from hookline.metrics_share import clear_shared
from hookline.settings import Settings
from hookline.store.database import database_url, is_memory_url, is_sqlite_url
from hookline.store.sql_store import open_store

log = logging.getLogger(__name__)

STARTUP_FAILURE = 3
"""The exit status of a child that could not start (uvicorn's own code for it)."""

ORPHAN_CHECK_SECONDS = 1.0
"""How often a child checks that its parent is alive: there is no portable way to be told."""

Target = Callable[..., int]
"""What a child runs: called with its listening sockets (one per port), its slot and the extra arguments."""


def serve_processes(settings: Settings, log_level: str, target: Target) -> int:
    """Run `settings.processes` children calling `target(sockets, slot, settings, log_level)`; exit status.

    On SQLite the file is created or upgraded, and the claims of the previous run released, once
    here before any child starts: a child must never release the claims of a sibling that runs them.
    The counts the previous run's children shared for `/metrics` are forgotten (`metrics_share`).
    """
    url = settings.effective_database_url
    if is_sqlite_url(url):
        if is_memory_url(make_url(database_url(url))):
            raise ConfigError("Several processes cannot share an in-memory SQLite database; use a file.")
        asyncio.run(_prepare_sqlite(url))
    clear_shared(settings.data_dir)
    ports = [settings.port] if settings.webhook_port is None else [settings.port, settings.webhook_port]
    sockets = bind_sockets(settings.host, ports, settings.processes)
    try:
        return Supervisor(target, sockets, settings, log_level).run()
    finally:
        close_sockets(sockets)


async def _prepare_sqlite(url: str) -> None:
    """Create or upgrade the file, and make the executions a stopped server was running claimable."""
    store = await open_store(url, migrate=True)
    try:
        resumed = await store.expire_claims()
    finally:
        await store.close()
    if resumed:
        log.info("resuming %d interrupted executions", resumed)


def bind_sockets(host: str, ports: Sequence[int], copies: int) -> list[list[socket.socket]]:
    """`copies` lists of listening sockets, one per port each, all bound with SO_REUSEPORT.

    A port in use is a ConfigError, even when its listener set SO_REUSEPORT too (another
    `hookline serve --processes` would otherwise silently share the port with this one).
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError("Several server processes need SO_REUSEPORT, which this system lacks.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bound: list[list[socket.socket]] = [[] for _ in range(copies)]
    try:
        for port in ports:
            # A plain bind fails on any listener; port 0 picks the port all copies then take.
            with socket.create_server((host, port), family=family) as probe:
                chosen = probe.getsockname()[1]
            for group in bound:
                group.append(socket.create_server((host, chosen), family=family, reuse_port=True))
    except OSError as exc:
        close_sockets(bound)
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
    return bound


def close_sockets(sockets: Sequence[Sequence[socket.socket]]) -> None:
    """Close every socket of every child."""
    for group in sockets:
        for sock in group:
            sock.close()


class Supervisor:
    """Keeps one child process per socket group running `target` until it is told to stop."""

    def __init__(self, target: Target, sockets: Sequence[Sequence[socket.socket]], *args: Any) -> None:
        self._target = target
        self._sockets = sockets
        self._args = args
        self._context = multiprocessing.get_context("spawn")
        self._children: dict[int, BaseProcess] = {}
        """Slot (index into the socket groups) → the child serving it now."""
        self._stopping = False
        self._failed = False

    def run(self) -> int:
        """Start the children and keep them running until SIGTERM or SIGINT; the exit status."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(len(self._sockets)):
                self._start(slot)
            while self._children:
                self._reap(wait([child.sentinel for child in self._children.values()]))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self._failed else 0

    def stop(self) -> None:
        """Ask every child to shut down gracefully, and start no more."""
        self._stopping = True
        for child in self._children.values():
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signal.SIGTERM)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("stopping %d server processes", len(self._children))
        self.stop()

    def _start(self, slot: int) -> None:
        """Start the child of one socket group."""
        child = self._context.Process(
            target=_child,
            args=(self._target, self._sockets[slot], slot, os.getpid(), self._args),
            name=f"hookline-serve-{slot}",
        )
        child.start()
        self._children[slot] = child
        if self._stopping:  # a signal came while it started: it must not outlive the others
            self.stop()

    def _reap(self, ready: Sequence[object]) -> None:
        """Collect the children that exited; restart them, or stop all after a failed start."""
        for slot, child in list(self._children.items()):
            if child.sentinel not in ready:
                continue
            child.join()
            del self._children[slot]
            if self._stopping:
                continue
            if child.exitcode == STARTUP_FAILURE:
                log.error("server process %d could not start; stopping the others", child.pid)
                self._failed = True
                self.stop()
                continue
            log.warning("server process %d exited (status %s); starting another", child.pid, child.exitcode)
            self._start(slot)


def _child(
    target: Target, sockets: list[socket.socket], slot: int, parent: int, args: tuple[Any, ...]
) -> None:
    """A child's life: watch the parent, run the target, exit with its status."""
    threading.Thread(target=_watch_parent, args=(parent,), name="hookline-orphan", daemon=True).start()
    raise SystemExit(target(sockets, slot, *args))


def _watch_parent(parent: int) -> None:
    """Shut this process down gracefully (SIGTERM to itself) once its parent is gone."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
