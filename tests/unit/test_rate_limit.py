"""The rate limiter's windows in one process, on a clock the tests move by hand."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.engine.flows import CompiledFlow
from hookline.engine.graph import Graph
from hookline.engine.rate_limit import RateLimiter
from hookline.errors import RejectedRequest
from hookline.exchange import flow_from_json
from tests._rate_limits import admitted
from tests._workflows import chain

START = 1_800_000_000.0
"""The start of a minute (and of a second), in seconds since the epoch."""


class Clock:
    """Wall-clock time that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def compiled(rate_limit: Any, key: str = "wf") -> CompiledFlow:
    """A workflow version with this `options.rateLimit`, compiled as the webhook route gets it."""
    flow = flow_from_json(chain() | {"key": key, "options": {"rateLimit": rate_limit}})
    return CompiledFlow(flow, Graph(flow.nodes))


@pytest.fixture
def clock() -> Clock:
    """A clock at START."""
    return Clock()


async def refusal(limiter: RateLimiter, flow: CompiledFlow, client: str | None = None) -> RejectedRequest:
    """The refusal of one request that must be over the limit."""
    with pytest.raises(RejectedRequest) as raised:
        await limiter.admit(flow, client)
    return raised.value


async def test_a_workflow_without_a_rate_limit_is_never_refused(clock: Clock) -> None:
    """Without `options.rateLimit` every request passes and nothing is counted."""
    limiter = RateLimiter(clock=clock)
    flow = compiled(None)
    assert flow.options.rate_limit is None
    assert await admitted(limiter, flow, 1000) == 1000


async def test_a_request_over_the_limit_is_a_429_with_retry_after(clock: Clock) -> None:
    """The limit's worth of requests pass; the next is `429 rate_limited` with whole seconds to wait."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 3, "per": "second"})
    clock.now = START + 0.5
    assert await admitted(limiter, flow, 3) == 3
    error = await refusal(limiter, flow)
    assert (error.status, error.code, error.headers) == (429, "rate_limited", {"Retry-After": "1"})
    assert error.message == "This workflow accepts 3 requests per second; try again in 1 s."


@pytest.mark.parametrize(
    ("rate_limit", "burst_at", "retry_after"),
    [
        ({"requests": 3, "per": "second"}, 0.5, 1),
        ({"requests": 3, "per": "second"}, 0.0, 2),  # at 1.0 the burst still weighs 3: fits just after
        ({"requests": 2, "per": "minute"}, 30.0, 31),
        ({"requests": 60, "per": "minute"}, 59.5, 1),  # the burst counts as spread over the minute
    ],
)
async def test_a_refused_request_fits_once_retry_after_has_passed(
    clock: Clock, rate_limit: Any, burst_at: float, retry_after: int
) -> None:
    """`Retry-After` is the first whole second at which the same request is admitted, and not one earlier."""
    limiter = RateLimiter(clock=clock)
    flow = compiled(rate_limit)
    clock.now = START + burst_at
    assert await admitted(limiter, flow, rate_limit["requests"]) == rate_limit["requests"]
    assert (await refusal(limiter, flow)).headers["Retry-After"] == str(retry_after)
    clock.now = START + burst_at + retry_after - 1
    await refusal(limiter, flow)
    clock.now = START + burst_at + retry_after
    assert await admitted(limiter, flow) == 1


async def test_the_previous_window_weighs_less_as_the_window_goes_on(clock: Clock) -> None:
    """After a full minute, the start of the next admits one more, and about half the limit by its middle."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 10, "per": "minute"})
    clock.now = START + 30
    assert await admitted(limiter, flow, 10) == 10
    clock.now = START + 63  # the previous 10 weigh 9.5
    assert await admitted(limiter, flow, 10) == 1
    clock.now = START + 87  # they weigh 5.5: 4 more fit beside the 1 already admitted
    assert await admitted(limiter, flow, 10) == 4


async def test_a_burst_at_the_end_of_a_window_is_not_repeated_after_it(clock: Clock) -> None:
    """A full burst in the last second of a minute leaves room for one request just after the boundary."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 100, "per": "minute"})
    clock.now = START + 59.9
    assert await admitted(limiter, flow, 150) == 100
    clock.now = START + 60.1
    assert await admitted(limiter, flow, 150) == 1


async def test_a_steady_sender_at_the_limit_is_never_refused(clock: Clock) -> None:
    """Ten requests a second, evenly spaced, all pass a limit of ten per second; eleven a second do not."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 10, "per": "second"})
    for tick in range(100):
        clock.now = START + 0.05 + tick * 0.1
        assert await admitted(limiter, flow) == 1
    faster = compiled({"requests": 10, "per": "second"}, key="faster")
    passed = 0
    for tick in range(110):
        clock.now = START + 0.05 + tick / 11
        passed += await admitted(limiter, faster)
    assert 100 <= passed < 110


async def test_a_window_after_a_quiet_one_starts_empty(clock: Clock) -> None:
    """Counts older than the previous window weigh nothing."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 5, "per": "second"})
    assert await admitted(limiter, flow, 5) == 5
    clock.now = START + 2.0
    assert await admitted(limiter, flow, 10) == 5


async def test_a_workflow_limit_counts_every_client_together(clock: Clock) -> None:
    """With `by: workflow` (the default) requests from different addresses share one count."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 2, "per": "minute"})
    assert await admitted(limiter, flow, client="192.0.2.1") == 1
    assert await admitted(limiter, flow, client="192.0.2.2") == 1
    assert await admitted(limiter, flow, client="192.0.2.3") == 0


async def test_an_address_limit_counts_each_address_apart(clock: Clock) -> None:
    """With `by: ip` each address has its own count, and the refusal says so."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 2, "per": "minute", "by": "ip"})
    assert await admitted(limiter, flow, 3, client="192.0.2.1") == 2
    assert await admitted(limiter, flow, 3, client="192.0.2.2") == 2
    assert await admitted(limiter, flow, 3, client=None) == 2
    message = (await refusal(limiter, flow, "192.0.2.1")).message
    assert message == "This workflow accepts 2 requests per minute from one address; try again in 61 s."


async def test_limits_of_different_workflows_and_periods_are_apart(clock: Clock) -> None:
    """Two workflows, or one workflow's per-second and per-minute limits, never share a count."""
    limiter = RateLimiter(clock=clock)
    first, second = (
        compiled({"requests": 1, "per": "minute"}, "a"),
        compiled({"requests": 1, "per": "minute"}, "b"),
    )
    assert await admitted(limiter, first, 2) == 1
    assert await admitted(limiter, second, 2) == 1
    assert await admitted(limiter, compiled({"requests": 1, "per": "second"}, "a"), 2) == 1


@pytest.mark.parametrize(
    ("one", "other", "shared"),
    [
        ("2001:db8::1", "2001:db8::ffff:2", True),
        ("2001:db8::1", "2001:db8:0:1::1", False),
        ("::ffff:192.0.2.1", "192.0.2.1", True),
        ("fe80::1%eth0", "fe80::2", True),
        ("192.0.2.1", "192.0.2.2", False),
    ],
)
async def test_ipv6_clients_are_counted_by_their_64_network(
    clock: Clock, one: str, other: str, shared: bool
) -> None:
    """Addresses of one IPv6 /64 share a count (a host may pick any of them); an IPv4-mapped one is IPv4."""
    limiter = RateLimiter(clock=clock)
    flow = compiled({"requests": 1, "per": "minute", "by": "ip"})
    assert await admitted(limiter, flow, client=one) == 1
    assert await admitted(limiter, flow, client=other) == (0 if shared else 1)


async def test_past_its_size_the_address_table_forgets_the_least_recently_seen(clock: Clock) -> None:
    """With room for two addresses, a third makes the one seen longest ago start over; the others stay."""
    limiter = RateLimiter(clock=clock, max_clients=2)
    flow = compiled({"requests": 1, "per": "minute", "by": "ip"})
    for client in ("192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3"):
        await admitted(limiter, flow, client=client)
    assert await admitted(limiter, flow, client="192.0.2.1") == 0
    assert await admitted(limiter, flow, client="192.0.2.3") == 0
    assert await admitted(limiter, flow, client="192.0.2.2") == 1  # forgotten, so counted afresh


async def test_a_flood_of_addresses_never_resets_a_workflow_limit(clock: Clock) -> None:
    """Whole-workflow counts live outside the bounded table of addresses, so they are never forgotten."""
    limiter = RateLimiter(clock=clock, max_clients=2)
    flow = compiled({"requests": 1, "per": "minute"})
    by_ip = compiled({"requests": 1, "per": "minute", "by": "ip"}, key="other")
    assert await admitted(limiter, flow) == 1
    for last in range(10):
        await admitted(limiter, by_ip, client=f"192.0.2.{last}")
    assert await admitted(limiter, flow) == 0
