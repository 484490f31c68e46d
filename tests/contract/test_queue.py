"""The queue contract on SQLite and PostgreSQL: back-off, attempts, release, shutdown, wake-ups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import pytest
from sqlalchemy import RowMapping, select, text

from hookline.engine.flows import FlowCache
from hookline.errors import ConfigError, Problem, StorageUnavailable
from hookline.exchange import flow_from_json
from hookline.models import Execution, ExecutionStatus, Flow, JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.registry import register, unregister
from hookline.queue import worker
from hookline.queue.worker import WorkerPool, backoff_seconds
from hookline.runtime import Runtime
from hookline.settings import Settings
from hookline.store.notify import EXECUTIONS_CHANNEL, Listener, listen_dsn
from hookline.store.schema import executions
from hookline.store.sql_store import SqlStore, open_store
from hookline.types import JsonObject
from tests._factories import LEASE, NOW, make_execution, make_flow, make_job
from tests._workflows import chain as chain_json

LATER = NOW + timedelta(seconds=10)
WITHIN = 5.0
"""How long a test waits for something that should happen at once (far below the poll intervals used)."""


class StepNode(NodeType):
    """Test node: counts its runs per node key and signals each run."""

    type: ClassVar[str] = "queue-step"
    runs: ClassVar[dict[str, int]] = {}
    ran: ClassVar[asyncio.Event]

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        self.runs[ctx.node.key] = self.runs.get(ctx.node.key, 0) + 1
        type(self).ran.set()
        return Outcome(JobStatus.RESOLVED, None)


class BlockNode(StepNode):
    """Test node: waits until released, noting that it was entered and whether it was canceled."""

    type: ClassVar[str] = "queue-block"
    entered: ClassVar[asyncio.Event]
    release: ClassVar[asyncio.Event]
    stopped: ClassVar[asyncio.Event]

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        self.runs[ctx.node.key] = self.runs.get(ctx.node.key, 0) + 1
        cls = type(self)
        cls.entered.set()
        try:
            await cls.release.wait()
        except asyncio.CancelledError:
            cls.stopped.set()
            raise
        return Outcome(JobStatus.RESOLVED, None)


@pytest.fixture(autouse=True)
def test_nodes() -> Iterator[None]:
    """Register the test node types with fresh counters and events, for one test."""
    StepNode.runs = {}
    StepNode.ran = asyncio.Event()
    BlockNode.entered, BlockNode.release, BlockNode.stopped = (
        asyncio.Event(),
        asyncio.Event(),
        asyncio.Event(),
    )
    kinds = [StepNode(), BlockNode()]
    for kind in kinds:
        register(kind)
    yield
    for kind in kinds:
        unregister(kind.type)


def chain(*kinds: str) -> Flow:
    """An enabled asynchronous flow whose nodes `n0`, `n1`, … of the given types form one chain."""
    return flow_from_json(chain_json(*kinds))


@pytest.fixture
async def flow(store: SqlStore) -> Flow:
    """An enabled flow of one counting node, already stored (here in place of the conftest's `flow`)."""
    stored = chain("queue-step")
    await store.add_flow(stored)
    return stored


def make_pool(store: SqlStore, **options: Any) -> WorkerPool:
    """A worker pool on a store that polls often and keeps claims for 5 s, unless told otherwise."""
    settings: dict[str, Any] = {"concurrency": 4, "lease_seconds": 5.0, "poll_seconds": 0.05, **options}
    return WorkerPool(store, FlowCache(store), **settings)


async def claim_row(store: SqlStore, execution_id: int) -> RowMapping:
    """The claim columns of one execution, which the Execution record does not carry."""
    c = executions.c
    query = select(c.status, c.claimed_by, c.claim_expires_at, c.run_after, c.error, c.attempt)
    async with store.engine.connect() as connection:
        return (await connection.execute(query.where(c.id == execution_id))).mappings().one()


async def claimed_and_released(store: SqlStore, flow: Flow, *, until: datetime, error: str) -> int:
    """Queue an execution, claim it as `w1` at NOW, and release it until `until`; its id."""
    execution = make_execution(flow)
    await store.add_execution(execution)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    assert await store.release_execution(execution.id, "w1", run_after=until, error=error) is True
    return execution.id


# -- run_after and release -------------------------------------------------------------------


async def test_released_execution_waits_for_its_run_after(store: SqlStore, flow: Flow) -> None:
    """A released execution is not claimed before its run_after, then is, with the next attempt."""
    execution_id = await claimed_and_released(store, flow, until=LATER, error="db down")
    assert (
        await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=LATER - timedelta(seconds=1))
        == []
    )
    [again] = await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=LATER)
    assert (again.id, again.attempt, again.status, again.error) == (
        execution_id,
        2,
        ExecutionStatus.STARTED,
        "db down",
    )
    assert (await claim_row(store, execution_id))["run_after"] is None


async def test_release_keeps_it_started_with_its_jobs_and_error(store: SqlStore, flow: Flow) -> None:
    """Released, an execution stays started with its jobs, no claim, its back-off and its error."""
    execution = make_execution(flow)
    await store.add_execution(execution)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    job = make_job(execution)
    await store.add_jobs([job])
    assert await store.release_execution(execution.id, "w1", run_after=LATER, error="db down") is True
    row = await claim_row(store, execution.id)
    assert dict(row) == {
        "status": "started",
        "claimed_by": None,
        "claim_expires_at": None,
        "run_after": LATER,
        "error": "db down",
        "attempt": 1,
    }
    assert await store.list_jobs(execution.id) == [job]


async def test_only_the_claim_holder_releases(store: SqlStore, flow: Flow) -> None:
    """Release is refused for another worker, a queued execution and a finished one."""
    queued, claimed = make_execution(flow), make_execution(flow)
    await store.add_execution(claimed)
    await store.claim_executions("w1", limit=1, lease_seconds=LEASE, now=NOW)
    await store.add_execution(queued)
    assert await store.release_execution(claimed.id, "w2", run_after=LATER, error="x") is False
    assert await store.release_execution(queued.id, "w1", run_after=LATER, error="x") is False
    await store.finish_execution(claimed.id, ExecutionStatus.RESOLVED, finished_at=NOW)
    assert await store.release_execution(claimed.id, "w1", run_after=LATER, error="x") is False
    assert (await claim_row(store, claimed.id))["run_after"] is None


async def test_a_back_off_delays_only_its_own_execution(store: SqlStore, flow: Flow) -> None:
    """A back-off delays only its own execution: queued ones and lapsed claims are claimed meanwhile."""
    waiting = await claimed_and_released(store, flow, until=LATER, error="db down")
    lapsed, queued = make_execution(flow), make_execution(flow)
    await store.add_execution(lapsed)
    await store.claim_executions("w1", limit=1, lease_seconds=1, now=NOW)
    await store.add_execution(queued)
    soon = NOW + timedelta(seconds=2)
    claimed = await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=soon)
    assert [e.id for e in claimed] == [lapsed.id, queued.id]
    assert waiting not in [e.id for e in claimed]


async def test_expire_claims_ends_a_back_off(store: SqlStore, flow: Flow) -> None:
    """Expiring claims also makes executions waiting for their run_after claimable at once."""
    execution_id = await claimed_and_released(store, flow, until=LATER, error="db down")
    assert await store.expire_claims() == 1
    [again] = await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=NOW)
    assert again.id == execution_id


async def test_success_clears_the_kept_error(store: SqlStore, flow: Flow) -> None:
    """The error kept while waiting disappears when the next attempt resolves."""
    execution_id = await claimed_and_released(store, flow, until=NOW, error="db down")
    await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=NOW)
    await store.finish_execution(execution_id, ExecutionStatus.RESOLVED, finished_at=LATER)
    stored = await store.get_execution(execution_id)
    assert stored is not None
    assert (stored.status, stored.error, stored.attempt) == (ExecutionStatus.RESOLVED, None, 2)


async def test_requeue_restarts_attempts_and_drops_the_back_off(store: SqlStore, flow: Flow) -> None:
    """A waiting execution canceled then requeued is claimable at once, as attempt 1."""
    execution_id = await claimed_and_released(store, flow, until=LATER, error="db down")
    assert await store.cancel_execution(execution_id, now=NOW) is True
    assert await store.requeue_execution(execution_id) is True
    [again] = await store.claim_executions("w2", limit=5, lease_seconds=LEASE, now=NOW)
    assert (again.id, again.attempt) == (execution_id, 1)


# -- attempts and back-off in the worker pool ------------------------------------------------


def test_backoff_doubles_from_one_second_up_to_five_minutes() -> None:
    """The back-off ceiling is 1 s * 2^(attempt-1), capped at 300 s; the draw is below it."""

    def ceiling(attempt: int) -> float:
        return backoff_seconds(attempt, draw=lambda low, high: high)

    assert [ceiling(n) for n in (1, 2, 3, 4, 9, 10, 1000)] == [1.0, 2.0, 4.0, 8.0, 256.0, 300.0, 300.0]
    assert backoff_seconds(3, draw=lambda low, high: low) == 0.0
    assert all(0.0 <= backoff_seconds(5) <= 16.0 for _ in range(200))


def test_queue_settings_come_from_the_environment() -> None:
    """HOOKLINE_MAX_ATTEMPTS and HOOKLINE_SHUTDOWN_GRACE_SECONDS are read, defaulted and checked."""
    assert (Settings.from_env({}).max_attempts, Settings.from_env({}).shutdown_grace_seconds) == (5, 10.0)
    chosen = Settings.from_env({"HOOKLINE_MAX_ATTEMPTS": "2", "HOOKLINE_SHUTDOWN_GRACE_SECONDS": "0"})
    assert (chosen.max_attempts, chosen.shutdown_grace_seconds) == (2, 0.0)
    for name, value in [("HOOKLINE_MAX_ATTEMPTS", "0"), ("HOOKLINE_SHUTDOWN_GRACE_SECONDS", "-1")]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})
    with pytest.raises(ConfigError, match="more than 0"):
        Settings.from_env({"HOOKLINE_POLL_SECONDS": "0"})


async def test_pool_gives_up_after_max_attempts(store: SqlStore, flow: Flow) -> None:
    """An execution claimed more than max_attempts times ends failed with the last error; no node runs."""
    tired = make_execution(flow, status=ExecutionStatus.STARTED, attempt=3, started_at=NOW, error="db down")
    silent = make_execution(flow, status=ExecutionStatus.STARTED, attempt=3, started_at=NOW)
    fresh = make_execution(flow, attempt=2)
    for execution in (tired, silent, fresh):
        await store.add_execution(execution)
    await asyncio.wait_for(make_pool(store, max_attempts=3).drain(), WITHIN)
    gave_up = await store.get_execution(tired.id)
    assert gave_up is not None
    assert (gave_up.status, gave_up.error) == (ExecutionStatus.FAILED, "gave up after 3 attempts: db down")
    assert gave_up.finished_at is not None
    quiet = await store.get_execution(silent.id)
    assert quiet is not None
    assert (quiet.status, quiet.error) == (ExecutionStatus.FAILED, "gave up after 3 attempts")
    last_try = await store.get_execution(fresh.id)
    assert last_try is not None
    assert (last_try.status, last_try.attempt) == (ExecutionStatus.RESOLVED, 3)
    assert StepNode.runs == {"n0": 1}
    assert await store.list_jobs(tired.id) == []


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the pool's back-off the top of its jitter range (predictable); the attempts it was asked for."""
    asked: list[int] = []

    def highest(attempt: int, **options: Any) -> float:
        asked.append(attempt)
        return backoff_seconds(attempt, draw=lambda low, high: high, **options)

    monkeypatch.setattr(worker, "backoff_seconds", highest)
    return asked


async def outage(*args: Any, **kwargs: Any) -> None:
    """Stand-in for a store write the database cannot take."""
    raise StorageUnavailable("The database is down in this test.")


async def test_outage_releases_the_attempt_with_a_back_off(
    store: SqlStore, flow: Flow, backoffs: list[int]
) -> None:
    """A run cut short by StorageUnavailable frees its claim until now + back-off, keeping the error."""
    execution = make_execution(flow)
    await store.add_execution(execution)
    store.add_jobs = outage  # type: ignore[method-assign]
    store.finish_execution = outage  # type: ignore[method-assign]
    before = datetime.now(UTC)
    await asyncio.wait_for(make_pool(store, retry_base_seconds=30.0).drain(), WITHIN)
    after = datetime.now(UTC)
    row = await claim_row(store, execution.id)
    assert (row["status"], row["claimed_by"], row["error"]) == (
        "started",
        None,
        "The database is down in this test.",
    )
    assert before + timedelta(seconds=30) <= row["run_after"] <= after + timedelta(seconds=30)
    assert backoffs == [1]


async def test_released_execution_resumes_and_clears_its_error(store: SqlStore, backoffs: list[int]) -> None:
    """After its back-off the execution resumes after its last finished job and resolves without error."""
    flow = chain("queue-step", "queue-step")
    await store.add_flow(flow)
    execution = make_execution(flow)
    await store.add_execution(execution)
    real_finish = store.finish_execution
    store.finish_execution = outage  # type: ignore[method-assign]
    pool = make_pool(store, retry_base_seconds=60.0)
    await asyncio.wait_for(pool.drain(), WITHIN)
    assert StepNode.runs == {"n0": 1, "n1": 1}
    assert (await claim_row(store, execution.id))["error"] == "The database is down in this test."
    store.finish_execution = real_finish  # type: ignore[method-assign]
    assert await store.expire_claims() == 1  # rather than wait out the minute of back-off
    await asyncio.wait_for(pool.drain(), WITHIN)
    done = await store.get_execution(execution.id)
    assert done is not None
    assert (done.status, done.error, done.attempt) == (ExecutionStatus.RESOLVED, None, 2)
    assert StepNode.runs == {"n0": 1, "n1": 1}  # both jobs were stored: nothing ran again
    assert [j.node_key for j in await store.list_jobs(execution.id)] == ["n0", "n1"]
    assert backoffs == [1]


# -- graceful shutdown -----------------------------------------------------------------------


async def test_stopped_pool_hands_a_blocked_execution_to_another(store: SqlStore) -> None:
    """A short grace cancels a blocked run and frees its claim at once; another pool resumes it."""
    flow = chain("queue-step", "queue-block", "queue-step")
    await store.add_flow(flow)
    execution = make_execution(flow)
    first = make_pool(store, lease_seconds=600.0)  # only the release, not a lapsed lease, can free it
    first.start()
    await store.add_execution(execution)
    first.wake()
    await asyncio.wait_for(BlockNode.entered.wait(), WITHIN)
    await asyncio.wait_for(first.stop(grace=0.1), WITHIN)
    assert BlockNode.stopped.is_set()
    row = await claim_row(store, execution.id)
    assert (row["status"], row["claimed_by"], row["claim_expires_at"]) == ("started", None, None)
    assert [j.node_key for j in await store.list_jobs(execution.id)] == ["n0"]

    BlockNode.release.set()
    await asyncio.wait_for(make_pool(store).drain(), WITHIN)
    done = await store.get_execution(execution.id)
    assert done is not None
    assert (done.status, done.attempt) == (ExecutionStatus.RESOLVED, 2)
    assert StepNode.runs == {"n0": 1, "n1": 2, "n2": 1}
    assert [j.node_key for j in await store.list_jobs(execution.id)] == ["n0", "n1", "n2"]


async def test_stop_lets_a_run_finish_within_the_grace(store: SqlStore) -> None:
    """A run that ends during the grace period finishes normally and is not handed over."""
    flow = chain("queue-block")
    await store.add_flow(flow)
    execution = make_execution(flow)
    pool = make_pool(store)
    pool.start()
    await store.add_execution(execution)
    pool.wake()
    await asyncio.wait_for(BlockNode.entered.wait(), WITHIN)
    stopping = asyncio.create_task(pool.stop(grace=60.0))
    BlockNode.release.set()
    await asyncio.wait_for(stopping, WITHIN)
    done = await store.get_execution(execution.id)
    assert done is not None
    assert (done.status, done.attempt) == (ExecutionStatus.RESOLVED, 1)
    assert not BlockNode.stopped.is_set()


# -- wake-ups on PostgreSQL ------------------------------------------------------------------


@pytest.fixture
async def pg_store(postgres_session_url: str) -> AsyncIterator[SqlStore]:
    """A migrated, emptied store on the session's PostgreSQL database."""
    opened = await open_store(postgres_session_url)
    async with opened.engine.begin() as connection:
        await connection.exec_driver_sql("TRUNCATE workflows, nodes, executions, jobs CASCADE")
    yield opened
    await opened.close()


@pytest.fixture
async def pg_flow(pg_store: SqlStore) -> Flow:
    """An enabled flow (`make_flow()`) already stored in `pg_store`."""
    stored = make_flow()
    await pg_store.add_flow(stored)
    return stored


class Notifications:
    """A plain asyncpg session listening on the executions channel, to count what the store sends."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.received = 0
        self._marker = asyncio.Event()

    @classmethod
    async def open(cls, url: str) -> Notifications:
        """Connect and LISTEN."""
        listening = cls(await asyncpg.connect(listen_dsn(url)))
        await listening.connection.add_listener(EXECUTIONS_CHANNEL, listening._on_notification)
        return listening

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == "marker":
            self._marker.set()
        else:
            self.received += 1

    async def take(self) -> int:
        """How many notifications arrived since the last call (all that were committed before it)."""
        self._marker.clear()
        # Notifications arrive in commit order, so once the marker is in, everything before it is.
        await self.connection.execute(f"SELECT pg_notify('{EXECUTIONS_CHANNEL}', 'marker')")
        await asyncio.wait_for(self._marker.wait(), WITHIN)
        count, self.received = self.received, 0
        return count


@pytest.fixture
async def notifications(pg_store: SqlStore, postgres_session_url: str) -> AsyncIterator[Notifications]:
    """Notifications on the store's database, counted from now on."""
    listening = await Notifications.open(postgres_session_url)
    yield listening
    await listening.connection.close()


@pytest.mark.postgres
async def test_queued_executions_notify_and_finished_ones_do_not(
    pg_store: SqlStore, notifications: Notifications, pg_flow: Flow
) -> None:
    """Adding a queued execution notifies once; adding an already finished one does not."""
    await pg_store.add_execution(make_execution(pg_flow, status=ExecutionStatus.RESOLVED, finished_at=NOW))
    assert await notifications.take() == 0
    await pg_store.add_execution(make_execution(pg_flow))
    assert await notifications.take() == 1


@pytest.mark.postgres
async def test_requeue_and_expire_notify_when_they_free_work(
    pg_store: SqlStore, notifications: Notifications, pg_flow: Flow
) -> None:
    """Requeue and expire_claims notify when they make something runnable; release and no-ops do not."""
    execution_id = await claimed_and_released(pg_store, pg_flow, until=LATER, error="db down")
    await notifications.take()
    assert await pg_store.expire_claims("nobody") == 0
    assert await pg_store.requeue_execution(execution_id) is False
    assert await notifications.take() == 0
    assert await pg_store.expire_claims() == 1
    assert await notifications.take() == 1
    await pg_store.cancel_execution(execution_id, now=NOW)
    assert await pg_store.requeue_execution(execution_id) is True
    assert await notifications.take() == 1


@pytest.mark.postgres
async def test_a_batch_of_enqueues_sends_one_notify(pg_store: SqlStore, pg_flow: Flow) -> None:
    """200 concurrent enqueues send pg_notify at most once per transaction, not once per execution."""
    # The writer counts what it sends: its fast path sends them outside SQLAlchemy's events.
    before, notified = pg_store.writer.transactions, pg_store.writer.notifications
    await asyncio.gather(*(pg_store.add_execution(make_execution(pg_flow)) for _ in range(200)))
    transactions = pg_store.writer.transactions - before
    assert 1 <= pg_store.writer.notifications - notified <= transactions < 20


@pytest.mark.postgres
async def test_listener_calls_back_when_another_store_enqueues(
    pg_store: SqlStore, pg_flow: Flow, postgres_session_url: str
) -> None:
    """A listener on its own connection hears an enqueue committed through another store."""
    woken = asyncio.Event()
    listener = Listener(postgres_session_url, {EXECUTIONS_CHANNEL: lambda _payload: woken.set()})
    listener.start()
    try:
        await asyncio.wait_for(listener.wait_listening(), WITHIN)
        woken.clear()  # the catch-up call made on connecting
        await pg_store.add_execution(make_execution(pg_flow))
        await asyncio.wait_for(woken.wait(), WITHIN)
    finally:
        await listener.stop()
    assert not listener.listening


@pytest.mark.postgres
async def test_listener_reconnects_after_its_connection_is_killed(
    pg_store: SqlStore, pg_flow: Flow, postgres_session_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """When the server ends the listening session, the listener reconnects, calls back, and hears again."""
    woken = asyncio.Event()
    listener = Listener(
        postgres_session_url, {EXECUTIONS_CHANNEL: lambda _payload: woken.set()}, retry_min_seconds=0.01
    )
    listener.start()
    try:
        await asyncio.wait_for(listener.wait_listening(), WITHIN)
        woken.clear()
        async with pg_store.engine.begin() as connection:
            killed = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'hookline-listener' AND datname = current_database()"
                )
            )
        assert killed == 1
        await asyncio.wait_for(woken.wait(), WITHIN)  # the catch-up call after reconnecting
        assert listener.connections == 2
        woken.clear()
        await pg_store.add_execution(make_execution(pg_flow))
        await asyncio.wait_for(woken.wait(), WITHIN)
    finally:
        await listener.stop()
    assert any("lost" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


async def test_listener_keeps_retrying_an_unreachable_server() -> None:
    """A listener whose server cannot be reached logs warnings and retries; it never raises."""
    warned = asyncio.Event()

    class Warned(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno == logging.WARNING:
                warned.set()

    handler = Warned()
    logger = logging.getLogger("hookline.store.notify")
    logger.addHandler(handler)
    calls: list[None] = []
    listener = Listener(
        "postgresql://postgres@127.0.0.1:1/nothing", {EXECUTIONS_CHANNEL: lambda _payload: calls.append(None)}
    )
    listener.start()
    try:
        await asyncio.wait_for(warned.wait(), WITHIN)
    finally:
        await listener.stop()
        logger.removeHandler(handler)
    assert (listener.listening, listener.connections, calls) == (False, 0, [])


@pytest.mark.postgres
async def test_runtime_on_postgres_is_woken_by_another_process_enqueue(
    pg_store: SqlStore, postgres_session_url: str, tmp_path: Path
) -> None:
    """A serving runtime polling every 30 s runs an execution another store queued within seconds."""
    settings = Settings(data_dir=tmp_path, database_url=postgres_session_url, poll_seconds=30.0, workers=2)
    runtime = await Runtime.open(settings)
    try:
        assert runtime.listener is not None
        await asyncio.wait_for(runtime.listener.wait_listening(), WITHIN)
        await asyncio.wait_for(_idle(runtime), WITHIN)
        flow = chain("queue-step")
        await pg_store.add_flow(flow)
        execution = make_execution(flow)
        await pg_store.add_execution(execution)
        await asyncio.wait_for(StepNode.ran.wait(), WITHIN)
    finally:
        await runtime.close()
    assert runtime.listener.listening is False
    done = await pg_store.get_execution(execution.id)
    assert done is not None
    assert done.status is ExecutionStatus.RESOLVED


async def _idle(runtime: Runtime) -> None:
    """Return once the runtime's workers made a claim that found nothing, and so wait for a wake-up."""
    store = runtime.store
    real_claim = store.claim_executions
    empty = asyncio.Event()

    async def claim(*args: Any, **kwargs: Any) -> Any:
        claimed = await real_claim(*args, **kwargs)
        if not claimed:
            empty.set()
        return claimed

    store.claim_executions = claim  # type: ignore[method-assign]
    runtime.workers.wake()
    await empty.wait()


class FlakyStore:
    """A store whose claims and renewals raise an unexpected error the first few times each."""

    def __init__(self, store: SqlStore, *, claim_failures: int, renew_failures: int) -> None:
        self._store = store
        self.claim_failures = claim_failures
        self.renew_failures = renew_failures
        self.renewed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim_executions(self, *args: Any, **kwargs: Any) -> Any:
        if self.claim_failures:
            self.claim_failures -= 1
            raise RuntimeError("surprise in claim")
        return await self._store.claim_executions(*args, **kwargs)

    async def renew_claims(self, *args: Any, **kwargs: Any) -> Any:
        if self.renew_failures:
            self.renew_failures -= 1
            raise RuntimeError("surprise in renew")
        renewed = await self._store.renew_claims(*args, **kwargs)
        self.renewed += 1
        return renewed


async def test_an_unexpected_error_in_claims_or_renewals_does_not_stop_the_pool(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The claim and renew loops log a surprise and go on: the execution still runs, keeps its claim, ends."""
    flow = chain("queue-block")
    await store.add_flow(flow)
    # One failed renewal leaves the claim a third of its lease when the next one comes; two would
    # leave it next to nothing, and the pool would (rightly) take its lapsed claim again.
    flaky = FlakyStore(store, claim_failures=2, renew_failures=1)
    pool = WorkerPool(flaky, FlowCache(store), concurrency=2, lease_seconds=1.5, poll_seconds=0.05)  # type: ignore[arg-type]
    pool.start()
    execution = make_execution(flow)
    await store.add_execution(execution)
    pool.wake()
    await asyncio.wait_for(BlockNode.entered.wait(), WITHIN)
    # Hold the run until renewals succeeded twice after the failures: the loop outlived them.
    async with asyncio.timeout(WITHIN):
        while flaky.renewed < 2:  # noqa: ASYNC110 - the pool's own renew loop counts them
            await asyncio.sleep(0.02)
    BlockNode.release.set()
    await asyncio.wait_for(pool.stop(grace=5.0), WITHIN)
    done = await store.get_execution(execution.id)
    assert done is not None
    assert (done.status, done.attempt) == (ExecutionStatus.RESOLVED, 1)
    assert not BlockNode.stopped.is_set()
    assert "claiming executions failed" in caplog.text
    assert "renewing claims failed" in caplog.text


class LostAnswerStore:
    """A store whose first claim commits but whose answer is lost, as a COMMIT cut off on its way back."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.lost: list[Execution] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim_executions(self, *args: Any, **kwargs: Any) -> Any:
        claimed = await self._store.claim_executions(*args, **kwargs)
        if self.lost or not claimed:
            return claimed
        self.lost = claimed
        raise StorageUnavailable("The database did not answer in time.")


async def test_executions_of_a_claim_whose_answer_was_lost_run_before_the_lease_ends(
    store: SqlStore, flow: Flow
) -> None:
    """The pool frees what a lost claim took on its next round, so nothing waits out the lease."""
    lost = LostAnswerStore(store)
    pool = WorkerPool(lost, FlowCache(store), concurrency=4, lease_seconds=3600, poll_seconds=0.05)  # type: ignore[arg-type]
    executions = [make_execution(flow) for _ in range(3)]
    for execution in executions:
        await store.add_execution(execution)
    pool.start()
    try:
        async with asyncio.timeout(WITHIN):
            while not await all_finished(store, executions):  # noqa: ASYNC110
                await asyncio.sleep(0.02)  # another task finishes them: polling the store is the plain wait
    finally:
        await pool.stop(grace=1.0)
    assert [e.id for e in lost.lost] == [e.id for e in executions]
    for execution in executions:
        done = await store.get_execution(execution.id)
        assert done is not None
        assert done.status is ExecutionStatus.RESOLVED


async def all_finished(store: SqlStore, executions: list[Execution]) -> bool:
    """Whether every one of these executions reached a final status."""
    read = [await store.get_execution(e.id) for e in executions]
    return all(e is not None and e.status.is_final for e in read)
