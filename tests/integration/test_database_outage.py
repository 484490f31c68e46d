"""A live server loses its PostgreSQL for a while under load: 503s, not ready, then back by itself.

The contract: docs/reference/status-codes.md (503) and docs/deploy.md#what-happens-when-things-fail.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hookline.models import Execution, ExecutionStatus
from hookline.store.sql_store import SqlStore
from tests._waiting import wait_until
from tests.integration._executions import all_executions, job_counts, nothing_runnable
from tests.integration._live_server import LiveServer, hookline_env, run_cli
from tests.integration._load import Outcomes, SteadyLoad
from tests.integration._tcp_proxy import TcpProxy
from tests.integration.conftest import EXAMPLES, example

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ASYNC_KEY = "orders-paid-async"
SYNC_KEY = "orders-paid"
HELD_KEY = "orders-held"
SYNC_AUTH = ("shop", "s3cret")
WORKERS = 8
HELD = 4
"""Executions held in mid-run when the outage begins (the other workers keep serving the load)."""
OUTAGE_SECONDS = 3.0
"""How long the outage lasts once the server has shown it (the scenario, not a wait for anything)."""
CLIENT_TIMEOUT = 20.0
"""Longer than the server's own 10 s storage timeout: a request that takes this long hangs."""
LEASE_SECONDS = "120"
"""Far longer than the test: executions cut short must be released, not left for their claims to lapse."""
RECOVERY_SECONDS = 60.0
"""How long every execution may take to finish once the load has stopped (the backlog is unpaced)."""


@dataclass
class Outage:
    """What the clients saw around one outage."""

    queued: SteadyLoad
    """The load on the asynchronous example workflow."""
    inline: SteadyLoad
    """The load on the synchronous example workflow."""
    held: list[int]
    """The executions that were running (held by their second node) when the outage began."""
    not_ready: httpx.Response
    """The first /readyz answer that said "not ready"."""
    first_after: tuple[int, int]
    """The first request numbers (queued, inline) sent once /readyz said "ready" again."""


@pytest.mark.parametrize("fault", ["cut", "stall"])
async def test_database_outage_answers_503_then_recovers_without_a_restart(
    tmp_path: Path, postgres_url: str, postgres_store: SqlStore, fault: str
) -> None:
    """While PostgreSQL is cut off or stalled, requests and /readyz answer 503; afterwards all works again."""
    marker = tmp_path / "go"
    _import_workflows(postgres_url, marker, tmp_path)
    async with TcpProxy(make_url(postgres_url).port or 5432) as proxy:
        proxied = make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)
        env = hookline_env(
            tmp_path / "data",
            HOOKLINE_DATABASE_URL=proxied,
            HOOKLINE_LEASE_SECONDS=LEASE_SECONDS,
            HOOKLINE_WORKERS=str(WORKERS),
            HOOKLINE_JANITOR_SECONDS="1",  # its sweeps meet the outage too
        )
        async with LiveServer(env, tmp_path / "server.log") as server:
            await server.start()
            outage = await _outage_under_load(server, proxy, fault, postgres_store, marker.touch)
            print(f"\n{fault}: async {outage.queued}; sync {outage.inline}; proxy reset {proxy.refused}")
            assert server.running, "the server exited during the outage"
            store = postgres_store
            await wait_until(lambda: nothing_runnable(store), "every execution ends", RECOVERY_SECONDS)
            await wait_until(lambda: _listening(store), "the server listens for wake-ups again")
            executions = await all_executions(store)
            jobs = await job_counts(store, executions)

    assert fault == "stall" or proxy.refused > 0, "nobody tried to reach the database during the cut"
    assert "Traceback" not in server.tail(lines=100_000), "the server logged a stack trace"
    _check_answers(outage)
    _check_executions(outage, executions)
    assert [e for e, c in jobs.items() if max(c.values()) > 1] == [], "a node ran twice"


def _import_workflows(database_url: str, marker: Path, folder: Path) -> None:
    """Import the two example workflows and the held one with the CLI (straight, not through the proxy)."""
    workflow = example("order-paid-async.json")
    paid, done = workflow["nodes"]
    hold = {"key": "hold", "type": "crash-block", "upstream": "paid", "branchIndex": None}
    workflow["key"] = HELD_KEY
    workflow["nodes"] = [paid, hold | {"config": {"marker": str(marker)}}, done | {"upstream": "hold"}]
    held = folder / "held.json"
    held.write_text(json.dumps(workflow))
    env = hookline_env(folder / "data", HOOKLINE_DATABASE_URL=database_url)
    examples = [str(EXAMPLES / name) for name in ("order-paid-async.json", "order-paid.json")]
    run_cli(env, "workflow", "import", str(held), *examples)


async def _outage_under_load(
    server: LiveServer, proxy: TcpProxy, fault: str, store: SqlStore, let_go: Callable[[], None]
) -> Outage:
    """Load the server, hold some executions, break the database while they run, then mend it."""
    client = httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT)
    queued = SteadyLoad([server.url], ASYNC_KEY, _order, senders=6, timeout=CLIENT_TIMEOUT)
    inline = SteadyLoad([server.url], SYNC_KEY, _order, senders=2, timeout=CLIENT_TIMEOUT, auth=SYNC_AUTH)
    async with client, queued, inline:
        await queued.wait_for(lambda o: len(o.accepted) >= 100, "100 requests were accepted")
        await inline.wait_for(lambda o: len(o.accepted) >= 10, "10 sync requests were answered")
        held = [await _post_held(client, n) for n in range(HELD)]
        await wait_until(lambda: _started(store, held), f"the {HELD} held executions run")

        getattr(proxy, fault)()
        let_go()  # the held executions go on, and cannot record their next job
        not_ready = await _wait_for_readyz(client, 503)
        await queued.wait_for(lambda o: _count(o, 503) >= 6, "6 requests were refused with 503")
        await inline.wait_for(lambda o: _count(o, 503) >= 2, "2 sync requests were refused with 503")
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage goes on: retries, back-offs, reconnections

        proxy.restore()
        await _wait_for_readyz(client, 200)
        first_after = (queued.issued, inline.issued)
        await queued.wait_for(lambda o: _accepted_from(o, first_after[0]) >= 100, "100 accepted after")
        await inline.wait_for(lambda o: _accepted_from(o, first_after[1]) >= 10, "10 sync after")
    return Outage(queued, inline, held, not_ready, first_after)


def _check_answers(outage: Outage) -> None:
    """Every answer was a 2xx or a 503 in the JSON error shape; none came late; none after recovery."""
    assert outage.not_ready.json()["error"]["code"] == "storage_unavailable"
    for load in (outage.queued, outage.inline):
        assert load.outcomes.unanswered == {}, "a request got no answer within the client's timeout"
        assert set(load.outcomes.statuses()) == {503}, "an answer was neither 2xx nor 503"
        for response in load.outcomes.refused.values():
            assert response.json()["error"]["code"] == "storage_unavailable"
            assert "x-hookline-execution" not in response.headers
    queued_after, inline_after = outage.first_after
    late = [n for n in outage.queued.outcomes.refused if n >= queued_after]
    late += [n for n in outage.inline.outcomes.refused if n >= inline_after]
    assert late == [], "a request sent once /readyz said ready again was refused"


def _check_executions(outage: Outage, executions: list[Execution]) -> None:
    """Each 2xx has its one resolved execution; the held ones were retried after the outage."""
    per_request = Counter((e.key, e.context["body"]["order"]["id"]) for e in executions)
    assert max(per_request.values()) == 1, "one request has two executions"
    by_id = {e.id: e for e in executions}
    for key, load in ((ASYNC_KEY, outage.queued), (SYNC_KEY, outage.inline)):
        for n, execution_id in load.outcomes.accepted.items():
            execution = by_id.get(execution_id)
            assert execution is not None, f"{key} request {n} was answered 2xx but not recorded"
            assert (execution.key, execution.context["body"]["order"]["id"]) == (key, n)
            assert execution.status is ExecutionStatus.RESOLVED
    held = [by_id[i] for i in outage.held]
    assert {(e.status, e.attempt > 1) for e in held} == {(ExecutionStatus.RESOLVED, True)}


def _order(n: int) -> dict[str, Any]:
    """The body of request `n`: a paid order whose id is the request number."""
    return {"order": {"id": n, "status": "paid"}}


async def _post_held(client: httpx.AsyncClient, n: int) -> int:
    """Queue request `n` of the held workflow; its execution id."""
    response = await client.post(f"/api/webhook:trigger/{HELD_KEY}", json=_order(n))
    assert response.status_code == 202, response.text
    return int(response.headers["x-hookline-execution"])


def _count(outcomes: Outcomes, status: int) -> int:
    """How many answers had this status."""
    return outcomes.statuses().get(status, 0)


def _accepted_from(outcomes: Outcomes, first: int) -> int:
    """How many requests numbered `first` or later were accepted."""
    return sum(1 for n in outcomes.accepted if n >= first)


async def _wait_for_readyz(client: httpx.AsyncClient, status: int, within: float = 30.0) -> httpx.Response:
    """Poll /readyz until it answers `status` (each answer must come within the client's timeout)."""
    try:
        async with asyncio.timeout(within):
            while True:
                response = await client.get("/readyz")
                if response.status_code == status:
                    return response
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"/readyz did not answer {status} within {within} s")


async def _started(store: SqlStore, execution_ids: list[int]) -> bool:
    """Whether all these executions are started (claimed by a worker, not finished)."""
    for execution_id in execution_ids:
        execution = await store.get_execution(execution_id)
        if execution is None or execution.status is not ExecutionStatus.STARTED:
            return False
    return True


async def _listening(store: SqlStore) -> bool:
    """Whether the server's LISTEN connection is connected to the database (one, not more)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = 'hookline-listener' AND datname = current_database()"
    )
    async with store.engine.connect() as connection:
        return (await connection.execute(query)).scalar_one() == 1
