"""The request node's `retry` policy: which failures are tried again, and how long to wait between tries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from hookline.errors import Problem
from hookline.nodes._config import is_int
from hookline.types import JsonObject

DEFAULT_ON_STATUS = (408, 429, 500, 502, 503, 504)
"""Statuses retried when `retry.onStatus` is not given: timeouts, rate limits, passing outages."""
MAX_ATTEMPTS = 20
MAX_BACKOFF_MS = 3_600_000
MAX_DELAY_MS = 86_400_000
"""The longest wait between two attempts that may be configured: one day."""
FIELDS = ("attempts", "backoff", "maxDelay", "onStatus", "onNetworkError")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts in all, on which failures, and the back-off between them (milliseconds)."""

    attempts: int = 1
    backoff_ms: int = 1000
    max_delay_ms: int = 30_000
    on_status: frozenset[int] = frozenset(DEFAULT_ON_STATUS)
    on_network_error: bool = True

    @classmethod
    def from_config(cls, retry: Any) -> RetryPolicy:
        """The policy of a checked `retry` config; none (or null) means a single attempt."""
        if not isinstance(retry, dict):
            return cls()
        default = cls()
        on_status = retry.get("onStatus")
        on_network = retry.get("onNetworkError")
        return cls(
            attempts=retry.get("attempts") or default.attempts,
            backoff_ms=_or(retry.get("backoff"), default.backoff_ms),
            max_delay_ms=_or(retry.get("maxDelay"), default.max_delay_ms),
            on_status=default.on_status if on_status is None else frozenset(on_status),
            on_network_error=default.on_network_error if on_network is None else on_network,
        )

    def delay_seconds(self, done: int, draw: float, retry_after: float | None = None) -> float:
        """The wait before the next attempt, after `done` attempts (1 or more).

        Exponential back-off with full jitter: a uniform `draw` in [0, 1) of `backoff * 2**(done-1)`,
        capped by `maxDelay`. A receiver's `Retry-After` (seconds) replaces it, capped the same way.
        """
        cap = self.max_delay_ms / 1000
        if retry_after is not None:
            return min(max(retry_after, 0.0), cap)
        ceiling = min(cap, self.backoff_ms / 1000 * 2 ** (done - 1))
        return float(draw * ceiling)


def _or(value: Any, default: int) -> int:
    return default if value is None else int(value)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A `Retry-After` header as seconds from `now`: delay-seconds or an HTTP date; None if unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; a date without a zone is read as such
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def check_retry(retry: Any, where: str) -> list[Problem]:
    """The problems with a `retry` object, each at `<where>.<field>`."""
    if retry is None:
        return []
    if not isinstance(retry, dict):
        return [Problem(where, 'must be an object such as {"attempts": 3, "onStatus": [503]}')]
    problems = [Problem(f"{where}.{name}", f"unknown field {name!r}") for name in retry if name not in FIELDS]
    problems += _int_problem(retry, "attempts", 1, MAX_ATTEMPTS, where)
    problems += _int_problem(retry, "backoff", 0, MAX_BACKOFF_MS, where)
    problems += _int_problem(retry, "maxDelay", 0, MAX_DELAY_MS, where)
    on_status = retry.get("onStatus")
    if on_status is not None and (
        not isinstance(on_status, list) or not all(is_int(code) and 100 <= code <= 599 for code in on_status)
    ):
        problems.append(
            Problem(f"{where}.onStatus", "must be a list of HTTP status codes such as [429, 503]")
        )
    if not isinstance(retry.get("onNetworkError"), bool | None):
        problems.append(Problem(f"{where}.onNetworkError", "must be true or false"))
    return problems


def _int_problem(retry: JsonObject, key: str, low: int, high: int, where: str) -> list[Problem]:
    value = retry.get(key)
    if value is None or (is_int(value) and low <= value <= high):
        return []
    unit = "" if key == "attempts" else " (milliseconds)"
    return [Problem(f"{where}.{key}", f"must be an integer between {low} and {high}{unit}")]
