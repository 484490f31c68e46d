"""`options.rateLimit` through HTTP on SQLite and PostgreSQL (`429 rate_limited`), and shared counts.

The limits here count per minute on the wall clock. A request sent just after a minute starts may
be admitted once more (the previous minute's requests then weigh a little less than the limit), so
each test sends two requests past the limit and expects at least one refusal, and checks that
every admitted request, and only those, was recorded.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hookline.engine.flows import CompiledFlow
from hookline.engine.graph import Graph
from hookline.engine.rate_limit import RateLimiter
from hookline.errors import StorageUnavailable
from hookline.exchange import flow_from_json
from hookline.store.execution_history import ExecutionFilter
from hookline.store.sql_store import SqlStore, open_store
from tests._rate_limits import admitted
from tests._workflows import chain
from tests.integration._admin import authorize
from tests.integration.conftest import Server

MakeServer = Callable[..., AbstractAsyncContextManager[Server]]


def limited(rate_limit: dict[str, Any], *, sync: bool = False) -> dict[str, Any]:
    """Workflow JSON with one end node and this `options.rateLimit`."""
    return chain("end", sync=sync) | {"options": {"rateLimit": rate_limit}}


async def recorded(server: Server, key: str) -> int:
    """How many executions of a workflow the database holds."""
    return len(await server.runtime.store.list_executions(ExecutionFilter(workflow_key=key, limit=1000)))


async def send(client: httpx.AsyncClient, key: str, count: int) -> list[httpx.Response]:
    """POST `count` requests to a workflow, one after the other."""
    return [await client.post(f"/api/webhook:trigger/{key}", json={"n": n}) for n in range(count)]


def minute() -> int:
    """The current minute since the epoch: the window of a per-minute limit."""
    return int(time.time() // 60)


def from_address(server: Server, address: str) -> httpx.AsyncClient:
    """A client whose requests reach the server from this address (`scope["client"]`)."""
    transport = httpx.ASGITransport(app=server.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hookline.test")


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_a_request_over_the_limit_is_a_429_and_nothing_runs(
    make_server: MakeServer, database: dict[str, str], sync: bool
) -> None:
    """Past the limit a request answers `429 rate_limited` with `Retry-After` and is not recorded."""
    async with make_server(**database) as server:
        key = await server.load(limited({"requests": 3, "per": "minute"}, sync=sync))
        answers = await send(server.client, key, 5)
        assert [a.status_code for a in answers[:3]] == [200] * 3
        refused = [a for a in answers if a.status_code == 429]
        assert refused, "two requests past the limit, at most one admitted at a minute's start"
        for answer in refused:
            assert answer.json()["error"]["code"] == "rate_limited"
            assert "3 requests per minute" in answer.json()["error"]["message"]
            assert 1 <= int(answer.headers["Retry-After"]) <= 61
            assert "x-hookline-execution" not in answer.headers
        assert await recorded(server, key) == len(answers) - len(refused)


async def test_an_address_limit_counts_each_client_apart(
    make_server: MakeServer, database: dict[str, str]
) -> None:
    """With `by: ip` one client over its limit is refused while another client's requests still pass."""
    async with make_server(**database) as server:
        key = await server.load(limited({"requests": 2, "per": "minute", "by": "ip"}))
        async with from_address(server, "192.0.2.10") as first, from_address(server, "192.0.2.20") as second:
            greedy = await send(first, key, 4)
            polite = await send(second, key, 2)
        assert [a.status_code for a in greedy[:2]] == [200, 200]
        assert 429 in [a.status_code for a in greedy[2:]]
        assert "from one address" in greedy[-1].json()["error"]["message"]
        assert [a.status_code for a in polite] == [200, 200]
        admitted = sum(a.status_code == 200 for a in greedy + polite)
        assert await recorded(server, key) == admitted


async def test_rate_limited_requests_are_counted_in_metrics(make_server: MakeServer) -> None:
    """Each `429 rate_limited` is a rejection of its workflow in `/metrics`."""
    async with make_server() as server:
        key = await server.load(limited({"requests": 1, "per": "minute"}))
        answers = await send(server.client, key, 4)
        metrics = await authorize(server).client.get("/metrics")
    refused = sum(a.status_code == 429 for a in answers)
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.text)
        for sample in family.samples
    }
    labels = (("reason", "rate_limited"), ("workflow", key))
    assert found[("hookline_webhook_rejections_total", labels)] == refused >= 2


async def test_an_invalid_rate_limit_is_refused_when_saved(make_server: MakeServer) -> None:
    """The admin API refuses a workflow whose rate limit is wrong, naming each wrong field."""
    async with make_server() as server:
        api = authorize(server)
        workflow = limited({"requests": 0, "per": "hour", "by": "user"})
        response = await api.client.post("/api/workflows/import", json=workflow)
    assert response.status_code == 422
    wheres = [detail["where"] for detail in response.json()["error"]["details"]]
    assert wheres == ["options.rateLimit.requests", "options.rateLimit.per", "options.rateLimit.by"]


# -- several processes on one database -----------------------------------------------------------

START = 1_800_000_030.0
"""Halfway through a minute, in seconds since the epoch (the shared tests' clock stands still)."""


@asynccontextmanager
async def shared_store(database: dict[str, str], tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A store on the database under test (on SQLite a file: the shared counts work there too)."""
    store = await open_store(database.get("database_url") or f"sqlite:///{tmp_path}/shared.db")
    try:
        yield store
    finally:
        await store.close()


def compiled(rate_limit: dict[str, Any]) -> CompiledFlow:
    """A workflow version with this rate limit, compiled as the webhook route gets it."""
    flow = flow_from_json(limited(rate_limit) | {"key": "shared"})
    return CompiledFlow(flow, Graph(flow.nodes))


def limiters(store: SqlStore, clock: Callable[[], float]) -> tuple[RateLimiter, RateLimiter]:
    """Two limiters on one store, as two processes have; they share only when the test flushes."""
    return (
        RateLimiter(store, flush_seconds=3600, clock=clock),
        RateLimiter(store, flush_seconds=3600, clock=clock),
    )


async def test_processes_share_one_limit(database: dict[str, str], tmp_path: Path) -> None:
    """What one process admitted and shared counts in another, which reads it before its first decision."""
    async with shared_store(database, tmp_path) as store:
        one, other = limiters(store, lambda: START)
        flow = compiled({"requests": 5, "per": "minute"})
        try:
            assert await admitted(one, flow, 4) == 4
            await one.flush()
            assert await admitted(other, flow, 3) == 1
            await other.flush()
            window = ("shared/60", int(START // 60) * 60)
            assert await store.count_requests({}, [window]) == {window: 5}
        finally:
            await one.close()
            await other.close()


async def test_a_process_reads_the_counts_again_once_they_are_old(
    database: dict[str, str], tmp_path: Path
) -> None:
    """Counts up to `fresh_seconds` old are decided on alone; older ones are read again first."""
    async with shared_store(database, tmp_path) as store:
        now = [START]
        one, other = limiters(store, lambda: now[0])
        flow = compiled({"requests": 4, "per": "minute", "by": "ip"})
        try:
            assert await admitted(one, flow, 1, "192.0.2.1") == 1
            await one.flush()
            assert await admitted(other, flow, 4, "192.0.2.1") == 3
            await other.flush()
            assert await admitted(one, flow, 1, "192.0.2.1") == 1  # what `one` knows is fresh: the overshoot
            now[0] = START + 1.0  # older than `fresh_seconds` (0.25 s)
            assert await admitted(one, flow, 1, "192.0.2.1") == 0
            assert await admitted(one, flow, 1, "192.0.2.2") == 1  # another address, counted apart
        finally:
            await one.close()
            await other.close()


async def test_without_the_database_each_process_counts_alone(caplog: pytest.LogCaptureFixture) -> None:
    """When the shared counts cannot be reached the limit holds in each process, and the log says so once."""
    store = await open_store("postgresql://hookline@127.0.0.1:1/nowhere", migrate=False, write_timeout=2)
    limiter = RateLimiter(store, flush_seconds=3600, clock=lambda: START)
    try:
        assert await admitted(limiter, compiled({"requests": 3, "per": "minute"}), 5) == 3
        with pytest.raises(StorageUnavailable):
            await limiter.flush()  # the admissions were kept, to be shared once it answers
    finally:
        await limiter.close()
        await store.close()
    warnings = [record for record in caplog.records if record.name == "hookline.engine.rate_limit"]
    assert [record.getMessage() for record in warnings] == [
        "rate limits cannot share their counts; each process counts alone"
    ]


async def test_two_servers_on_postgresql_share_a_limit(
    make_server: MakeServer, postgres_url: str, postgres_store: SqlStore
) -> None:
    """Requests admitted by one server count in the other's limit once shared (at most 0.1 s later)."""
    del postgres_store  # it migrated the database the servers share
    async with (
        make_server(database_url=postgres_url) as first,
        make_server(database_url=postgres_url) as second,
    ):
        key = await first.load(limited({"requests": 3, "per": "minute"}))
        second.runtime.flows.forget()
        began = minute()
        answers = await send(first.client, key, 3)
        await first.runtime.rate_limiter.flush()
        later = await send(second.client, key, 2)
        crossed = minute() != began
    assert [a.status_code for a in answers] == [200] * 3
    assert sum(a.status_code == 200 for a in later) <= (1 if crossed else 0)
