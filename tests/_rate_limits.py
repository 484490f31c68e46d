"""Helpers the rate-limit tests share."""

from __future__ import annotations

from hookline.engine.flows import CompiledFlow
from hookline.engine.rate_limit import RateLimiter
from hookline.errors import RejectedRequest


async def admitted(
    limiter: RateLimiter, flow: CompiledFlow, count: int = 1, client: str | None = None
) -> int:
    """How many of `count` requests, made one after the other now, the limiter admits."""
    passed = 0
    for _ in range(count):
        try:
            await limiter.admit(flow, client)
        except RejectedRequest:
            continue
        passed += 1
    return passed
