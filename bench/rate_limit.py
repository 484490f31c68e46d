"""What `options.rateLimit` costs per request, and how far processes sharing a limit overshoot it.

Three parts, each printing its figures:

- **cost**: µs per `RateLimiter.admit` in one process (no database): a workflow without a limit,
  a whole-workflow limit, a per-address limit (one address, 100,000 addresses cycling through a
  full table, IPv6), and the memory of a full table of addresses.
- **flush**: ms per round trip to the shared counts on PostgreSQL (`Store.count_requests`) for 1,
  10 and 1,000 buckets at once.
- **overshoot**: `--processes` limiters, each with its own store (its own connections, as a
  process has), on one PostgreSQL database, each offered `--rate` requests a second for
  `--seconds` against one limit; the requests admitted per window of the limit, against the limit.
  With one process the figure is the sliding estimate's own error; the rest is the sharing's.

    taskset -c 0 .venv/bin/python bench/rate_limit.py
    .venv/bin/python bench/rate_limit.py --only overshoot --processes 4 --rate 2000 --per second
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

from _postgres import DEFAULT_ADMIN_URL, database_url, fresh_database

from hookline.engine.flows import CompiledFlow
from hookline.engine.graph import Graph
from hookline.engine.rate_limit import RateLimiter
from hookline.errors import RejectedRequest
from hookline.exchange import flow_from_json
from hookline.store.sql_store import SqlStore, open_store

CALLS = 200_000


def compiled(rate_limit: dict[str, Any] | None, key: str = "bench") -> CompiledFlow:
    """A workflow version with this rate limit (or none)."""
    data = {"key": key, "title": "t", "type": "webhook", "sync": False, "enabled": True, "config": {}}
    flow = flow_from_json(data | {"nodes": [], "options": {"rateLimit": rate_limit}})
    return CompiledFlow(flow, Graph(flow.nodes))


async def per_call(limiter: RateLimiter, flow: CompiledFlow, clients: Callable[[int], str | None]) -> float:
    """µs per admit (admitted or refused) over CALLS calls, the clients chosen by call number."""
    start = time.perf_counter()
    for n in range(CALLS):
        with contextlib.suppress(RejectedRequest):
            await limiter.admit(flow, clients(n))
    return (time.perf_counter() - start) / CALLS * 1e6


async def cost() -> None:
    """The cost of one admit in one process, and the memory of a full table of addresses."""
    huge = {"requests": 10**9, "per": "minute"}
    print(f"admit, one process, µs per call (median of 5 x {CALLS:,} calls):")
    cases: list[tuple[str, dict[str, Any] | None, Callable[[int], str | None]]] = [
        ("no rateLimit (the fast path)", None, lambda n: "192.0.2.1"),
        ("by workflow, admitted", huge, lambda n: "192.0.2.1"),
        ("by workflow, refused (429 built)", {"requests": 1, "per": "minute"}, lambda n: "192.0.2.1"),
        ("by ip, one address", huge | {"by": "ip"}, lambda n: "192.0.2.1"),
        (
            "by ip, 100k addresses in turn",
            huge | {"by": "ip"},
            lambda n: f"10.{n % 100_000 >> 16}.{n >> 8 & 255}.{n & 255}",
        ),
        (
            "by ip, 200k addresses (table full)",
            huge | {"by": "ip"},
            lambda n: f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
        ),
        ("by ip, IPv6", huge | {"by": "ip"}, lambda n: f"2001:db8:{n & 0xFFFF:x}::1"),
    ]
    for name, rate_limit, clients in cases:
        times = []
        for _ in range(5):
            limiter, flow = RateLimiter(), compiled(rate_limit)
            times.append(await per_call(limiter, flow, clients))
        print(f"  {name:40} {statistics.median(times):6.2f}")
    gc.collect()
    tracemalloc.start()
    limiter, flow = RateLimiter(), compiled(huge | {"by": "ip"})
    before = tracemalloc.get_traced_memory()[0]
    for n in range(100_000):
        await limiter.admit(flow, f"10.{n >> 16}.{n >> 8 & 255}.{n & 255}")
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"  memory of 100,000 addresses: {used / 2**20:.1f} MiB ({used / 100_000:.0f} bytes each)")


async def flush(url: str) -> None:
    """ms per round trip to the shared counts, by number of buckets."""
    store = await open_store(url, migrate=False)
    try:
        print("flush to PostgreSQL, ms per round trip (median of 50):")
        for buckets in (1, 10, 1000):
            added = {(f"bench/1/10.0.{n >> 8}.{n & 255}", 1_800_000_000): 1 for n in range(buckets)}
            read = [(bucket, start - 1) for bucket, start in added]
            times = []
            for _ in range(50):
                start = time.perf_counter()
                await store.count_requests(added, read)
                times.append((time.perf_counter() - start) * 1e3)
            print(f"  {buckets:5} buckets: {statistics.median(times):6.2f}")
    finally:
        await store.close()


async def overshoot(url: str, processes: int, rate: float, seconds: float, per: str, requests: int) -> None:
    """Offer `rate` requests/s to each of `processes` limiters sharing one limit; admitted per window."""
    stores: list[SqlStore] = [await open_store(url, migrate=False) for _ in range(processes)]
    limiters = [RateLimiter(store) for store in stores]
    flow = compiled({"requests": requests, "per": per}, key=f"over{os.getpid()}{time.time_ns()}")
    period = 1 if per == "second" else 60
    admitted: Counter[int] = Counter()
    end = time.time() + seconds

    async def offer(limiter: RateLimiter) -> None:
        step = 0.002  # a batch every 2 ms
        batch = max(1, round(rate * step))
        while time.time() < end:
            for _ in range(batch):
                try:
                    await limiter.admit(flow, None)
                except RejectedRequest:
                    continue
                admitted[int(time.time() // period)] += 1
            await asyncio.sleep(step)

    try:
        await asyncio.gather(*(offer(limiter) for limiter in limiters))
    finally:
        for limiter in limiters:
            await limiter.close()
        for store in stores:
            await store.close()
    windows = sorted(admitted)[1:-1]  # the first and last windows are cut short
    counts = [admitted[w] for w in windows]
    if not counts:
        print("  (the run was too short for one whole window)")
        return
    print(
        f"overshoot: {processes} process(es), {rate:,.0f} requests/s each, limit {requests}/{per}, "
        f"{len(counts)} whole windows: admitted per window mean {statistics.mean(counts):.1f}, "
        f"max {max(counts)} ({max(counts) / requests - 1:+.1%} of the limit)"
    )


def main() -> None:
    """Run the parts asked for (the PostgreSQL ones on a fresh database, dropped afterwards)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="cost,flush,overshoot")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("HOOKLINE_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--processes", type=int, default=0, help="0: 1, 2 and 4 in turn")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s offered to each process")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--per", choices=("second", "minute"), default="second")
    parser.add_argument("--requests", type=int, default=100, help="the limit")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "cost" in parts:
        asyncio.run(cost())
    if parts & {"flush", "overshoot"}:
        with fresh_database(args.postgres_url) as name:
            asyncio.run(_on_postgres(database_url(args.postgres_url, name), parts, args))


async def _on_postgres(url: str, parts: set[str], args: argparse.Namespace) -> None:
    """The PostgreSQL parts, on a database migrated first."""
    await (await open_store(url)).close()
    if "flush" in parts:
        await flush(url)
    if "overshoot" in parts:
        for processes in [args.processes] if args.processes else [1, 2, 4]:
            await overshoot(url, processes, args.rate, args.seconds, args.per, args.requests)


if __name__ == "__main__":
    main()
