"""The runtime: the store, caches, dispatcher and workers one server process shares."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from hookline.admin.executions import ExecutionAdmin
from hookline.admin.workflows import WorkflowAdmin
from hookline.engine.dispatcher import Dispatcher
from hookline.engine.flows import FlowCache
from hookline.engine.scope import env_allow_list
from hookline.metrics import Metrics
from hookline.plugins import load_plugins
from hookline.queue.janitor import Janitor
from hookline.queue.worker import WorkerPool
from hookline.settings import Settings
from hookline.store.base import Store
from hookline.store.database import is_sqlite_url
from hookline.store.sql_store import open_store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Runtime:
    """Everything a running server holds, built at start-up and closed at shutdown."""

    settings: Settings
    store: Store
    flows: FlowCache
    dispatcher: Dispatcher
    workers: WorkerPool
    metrics: Metrics
    workflows: WorkflowAdmin
    executions: ExecutionAdmin
    janitor: Janitor

    @classmethod
    async def open(cls, settings: Settings, store: Store | None = None, *, serve: bool = True) -> Runtime:
        """Load plugins, open the store (migrating an SQLite file), then start the workers.

        With `serve=False` (the CLI) no worker starts and no claim is touched: a server
        may be running on the same database.
        """
        load_plugins(settings.plugins)
        url = settings.effective_database_url
        if store is None:
            store = await open_store(url, migrate=is_sqlite_url(url))
        flows = FlowCache(store, settings.cache_seconds)
        env = env_allow_list(settings.env_allow_list, os.environ)
        metrics = Metrics()
        workers = WorkerPool(
            store,
            flows,
            concurrency=settings.workers,
            lease_seconds=settings.lease_seconds,
            poll_seconds=settings.poll_seconds,
            env=env,
            metrics=metrics,
        )
        dispatcher = Dispatcher(store, env=env, wake=workers.wake, metrics=metrics)
        if serve and is_sqlite_url(url):
            # One process owns an SQLite file, so whatever was running when it stopped is ours to resume.
            resumed = await store.expire_claims()
            if resumed:
                log.info("resuming %d interrupted executions", resumed)
        janitor = Janitor(store, interval=settings.janitor_seconds)
        if serve:
            workers.start()
            janitor.start()
        workflows = WorkflowAdmin(store, changed=flows.forget)
        executions = ExecutionAdmin(store, flows, dispatcher, stop_local=workers.cancel)
        return cls(settings, store, flows, dispatcher, workers, metrics, workflows, executions, janitor)

    async def close(self) -> None:
        """Stop the janitor and the workers (running executions finish briefly), then the store."""
        await self.janitor.stop()
        await self.workers.stop()
        await self.store.close()
