"""examples/order-forward.json end to end: imported with the CLI, run by the app, posted to the receiver.

The receiver is the script the README tour starts, loaded from its file (scripts/ is not a package)
and serving real HTTP on a free port of 127.0.0.1; it answers 503 twice per Idempotency-Key, then 200.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from hookline.models import ExecutionStatus, Job, JobStatus
from tests._waiting import wait_until
from tests.integration.conftest import EXAMPLES, Invoke

RECEIVER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "receiver.py"
ORDER = {
    "order": {
        "id": 1001,
        "taxRate": 0.2,
        "items": [
            {"sku": "A-1", "qty": 2, "price": 9.95},
            {"sku": "B-7", "qty": 1, "price": 24.5},
            {"sku": "Z-0", "qty": 0, "price": 99},
            {"sku": "C-3", "qty": 3, "price": 4},
        ],
    }
}
"""Three items to post (the one of quantity 0 is left out by the json-query); 56.40 before tax."""
POSTED = [{"sku": "A-1", "qty": 2, "price": 9.95}, {"sku": "B-7", "qty": 1, "price": 24.5}]
POSTED.append({"sku": "C-3", "qty": 3, "price": 4})


def load_receiver() -> ModuleType:
    """scripts/receiver.py as a module, as it is on disk."""
    spec = importlib.util.spec_from_file_location("hookline_receiver_script", RECEIVER_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def receiver() -> Iterator[Any]:
    """The receiver script's server on a free port, failing the first two calls of each key."""
    server = load_receiver().ReceiverServer(0, fail_first=2, quiet=True)
    thread = threading.Thread(target=server.serve_forever, name="receiver")
    thread.start()
    yield server
    server.shutdown()
    thread.join()
    server.server_close()


def by_key(jobs: list[Job], key: str) -> list[Job]:
    """The jobs of one node, in the order the store lists them."""
    return [job for job in jobs if job.node_key == key]


async def test_the_order_is_forwarded_item_by_item_with_retries_a_delay_and_a_summary(
    make_server: Callable[..., Any], run: Invoke, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each item is posted (503, 503, 200: one job of 3 attempts each), then the delay, then the summary."""
    imported = await asyncio.to_thread(run, "workflow", "import", str(EXAMPLES / "order-forward.json"))
    assert imported.exit_code == 0, imported.output
    monkeypatch.setenv("RECEIVER_URL", receiver.url)
    async with make_server(request_allow=("127.0.0.1",), env_allow_list=("RECEIVER_URL",)) as server:
        answer = await server.post("orders-forward", json=ORDER)
        assert (answer.status_code, answer.json()) == (202, {"accepted": True, "order": 1001})
        execution_id = int(answer.headers["x-hookline-execution"])

        async def finished() -> bool:
            execution = await server.runtime.store.get_execution(execution_id)
            return execution is not None and execution.status.is_final

        await wait_until(finished, "the order was forwarded", within=30)
        execution = await server.runtime.store.get_execution(execution_id)
        jobs = await server.runtime.store.list_jobs(execution_id)
    assert execution is not None
    assert execution.status is ExecutionStatus.RESOLVED, execution.error
    [total], [items], [loop], [delay], [summary] = (
        by_key(jobs, key) for key in ("total", "items", "each", "wait", "summary")
    )
    assert total.result == 67.68  # (2 * 9.95 + 24.5 + 3 * 4) * 1.2
    assert items.result == POSTED
    assert loop.result == {"looped": 3, "done": 3, "length": 3}
    posts = by_key(jobs, "post-item")
    assert [(job.status, job.meta["attempt"], job.meta["iteration"]) for job in posts] == [
        (JobStatus.RESOLVED, 3, f"each#{index}/") for index in range(3)
    ]
    assert [job.result["data"]["received"] for job in posts] == [
        {"order": 1001, "line": line, "item": item} for line, item in enumerate(POSTED, 1)
    ]
    assert delay.status is JobStatus.RESOLVED
    assert (summary.status, summary.meta["attempt"]) == (JobStatus.RESOLVED, 3)
    assert summary.started_at >= datetime.fromisoformat(delay.result["resumeAt"])
    assert summary.result["data"]["received"] == {"order": 1001, "total": 67.68, "items": 3}
    async with httpx.AsyncClient() as client:  # what the README tour reads
        stats = (await client.get(f"{receiver.url}/stats")).json()
    assert stats["keys"] == {
        "order-1001-line-1": [503, 503, 200],
        "order-1001-line-2": [503, 503, 200],
        "order-1001-line-3": [503, 503, 200],
        f"{execution_id}-summary": [503, 503, 200],
    }
    assert stats["paths"] == {"/orders/1001/items": 9, "/orders/1001/summary": 3}
