"""The runtime: the store, caches, dispatcher and workers of one process (the CLI's runs no workers)."""

from __future__ import annotations

import gc
import logging
import math
import os
from dataclasses import dataclass

from hookline.admin.executions import ExecutionAdmin
from hookline.admin.workflows import WorkflowAdmin
from hookline.engine.dispatcher import Dispatcher
from hookline.engine.flows import FlowCache
from hookline.engine.rate_limit import RateLimiter
from hookline.engine.subflows import EngineSubflows
from hookline.expressions.scope import env_allow_list
from hookline.metrics import Metrics
from hookline.metrics_share import SharedMetrics
from hookline.nodes.base import Resources
from hookline.outbound import open_http_client
from hookline.plugins import load_plugins
from hookline.queue.janitor import Janitor
from hookline.queue.worker import WorkerPool
from hookline.settings import Settings
from hookline.store.backlog import Backlog
from hookline.store.base import Store
from hookline.store.database import is_sqlite_url
from hookline.store.notify import EXECUTIONS_CHANNEL, WORKFLOWS_CHANNEL, Callback, Listener
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
    rate_limiter: RateLimiter
    """Applies the workflows' `options.rateLimit` (sharing its counts on PostgreSQL)."""
    backlog: Backlog
    """The counts of queued executions that the default queue limits are checked against."""
    listener: Listener | None = None
    """On PostgreSQL with workers: wakes them when any process queues an execution."""
    resources: Resources | None = None
    """What the nodes share (the outbound HTTP client), closed after the workers."""
    shared_metrics: SharedMetrics | None = None
    """In a process of `serve --processes N`: its counts written for the others, and theirs read."""

    @classmethod
    async def open(cls, settings: Settings, store: Store | None = None, *, serve: bool = True) -> Runtime:
        """Load plugins, open the store (migrating an SQLite file), then start the workers.

        With `serve=False` (the CLI) no worker starts and no claim is touched: a server
        may be running on the same database. On PostgreSQL a serving runtime also listens
        for the notifications other processes send when they queue executions.
        """
        load_plugins(settings.plugins)
        url = settings.effective_database_url
        if store is None:
            store = await open_store(url, migrate=is_sqlite_url(url))
        env = env_allow_list(settings.env_allow_list, os.environ)
        flows = FlowCache(store, settings.cache_seconds, default_queue_limit=settings.queue_limit, env=env)
        metrics = Metrics()
        # Opened first: a bad HOOKLINE_REQUEST_ALLOW entry stops the start-up before anything runs.
        subflows = EngineSubflows(store, flows)
        resources = Resources(http=open_http_client(settings.request_allow), subflows=subflows)
        workers = WorkerPool(
            store,
            flows,
            concurrency=settings.workers,
            lease_seconds=settings.lease_seconds,
            poll_seconds=settings.poll_seconds,
            max_attempts=settings.max_attempts,
            env=env,
            metrics=metrics,
            resources=resources,
        )
        # A 429 over a workflow's limit asks callers back after one poll interval (at least 1 s):
        # by then the workers have looked for work again, so a place may have come free.
        retry_after = math.ceil(settings.poll_seconds)
        # Other processes queue and count in the same database: PostgreSQL, or `serve --processes N`.
        shared = not is_sqlite_url(url) or settings.processes > 1
        backlog = Backlog(store.count_queued, total_limit=settings.queue_limit_total, shared=shared)
        # Counted at once: a long queue is full from the first request on (a CLI replay included).
        await backlog.refresh()
        dispatcher = Dispatcher(
            store,
            env=env,
            wake=workers.wake,
            metrics=metrics,
            retry_after=retry_after,
            backlog=backlog,
            resources=resources,
            starter=workers if serve else None,
            run_before_answer=settings.run_before_answer,
        )
        subflows.attach(dispatcher)
        if serve and not shared:
            # One process owns an SQLite file, so whatever was running when it stopped is ours to resume.
            # (With several, `hookline serve` releases them once before they start; see supervisor.py.)
            resumed = await store.expire_claims()
            if resumed:
                log.info("resuming %d interrupted executions", resumed)
        janitor = Janitor(store, interval=settings.janitor_seconds)
        # One process owning an SQLite file knows every count; several keep them in the database.
        rate_limiter = RateLimiter(store if shared else None)
        listener = None
        shared_metrics = None
        if serve:
            workers.start()
            janitor.start()
            if settings.process_slot is not None:
                shared_metrics = SharedMetrics(
                    settings.data_dir, settings.process_slot, metrics, lambda: workers.running
                )
                shared_metrics.start()
            # SQLite has one process, where the dispatcher's wake and the admin's own forget are enough.
            if not is_sqlite_url(url):
                callbacks: dict[str, Callback] = {WORKFLOWS_CHANNEL: flows.forget}
                if settings.workers > 0:  # no workers, nothing to wake
                    callbacks[EXECUTIONS_CHANNEL] = lambda _payload: workers.wake()
                listener = Listener(url, callbacks)
                listener.start()
        workflows = WorkflowAdmin(store, changed=flows.forget, env_allow=settings.env_allow_list)
        executions = ExecutionAdmin(store, flows, dispatcher, stop_local=workers.cancel)
        runtime = cls(
            settings,
            store,
            flows,
            dispatcher,
            workers,
            metrics,
            workflows,
            executions,
            janitor,
            rate_limiter,
            backlog,
            listener,
            resources,
            shared_metrics,
        )
        if serve:
            settle_heap()
        return runtime

    async def close(self) -> None:
        """Stop the janitor, the listener and the workers, then the store.

        Running executions get `shutdown_grace_seconds` to finish; the rest are stopped and
        their claims released, so another process resumes them at once.
        """
        await self.janitor.stop()
        await self.rate_limiter.close()
        await self.backlog.close()
        if self.listener is not None:
            await self.listener.stop()
        await self.workers.stop(self.settings.shutdown_grace_seconds)
        if self.shared_metrics is not None:  # after the workers: their last executions are counted
            await self.shared_metrics.stop()
        if self.resources is not None:
            await self.resources.http.aclose()
        await self.store.close()


GC_THRESHOLD = (50_000, 20, 100)
"""The collector's thresholds once serving: young collections every 50,000 allocations, not 700."""


def settle_heap() -> None:
    """Take what start-up built out of the cyclic collector's scans; once per process.

    A server keeps its modules, engines and caches for its whole life, yet every full collection
    walked all of them (about 110,000 objects, 20 to 40 ms each, several times a second under load),
    which set the latency tail. Frozen, they are never scanned again; reference counting still
    frees them. The higher threshold makes young collections rarer, so fewer short-lived request
    objects survive into the older generations. A second runtime in the same process (tests)
    changes nothing.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
