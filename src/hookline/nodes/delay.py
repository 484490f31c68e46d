"""The delay node: wait a while (or until a time), then continue or end the execution.

Asynchronous workflows only. The wait is durable: the node suspends the execution (`waiting`,
no worker, no claim) until the time it computed on its first call, kept in its pending job, and
any process resumes it once that time has come; a restart meanwhile changes nothing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hookline.errors import Problem
from hookline.models import JobStatus
from hookline.nodes._config import check_choice, where
from hookline.nodes.base import NodeContext, NodeType, Outcome, WaitReason
from hookline.nodes.end import end_status
from hookline.types import JsonObject, JsonValue

UNITS: dict[Any, float] = {
    "milliseconds": 0.001,
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
    "weeks": 604800.0,
    # NocoBase stores the unit as its length in milliseconds.
    1: 0.001,
    1000: 1.0,
    60000: 60.0,
    3600000: 3600.0,
    86400000: 86400.0,
    604800000: 604800.0,
}
"""`unit` values and their length in seconds; NocoBase's millisecond counts included."""
DEFAULT_UNIT = "seconds"
LONGEST = timedelta(days=3660)
"""The longest wait (about ten years): beyond it a duration is a mistake, not a plan."""
RESUME_AT = "resumeAt"
"""The result key (and the pending job's state) holding when the delay ends, in ISO 8601."""


class DelayNode(NodeType):
    """Wait `duration` `unit`s, or until the time `until` names, then go on (or end with `endStatus`)."""

    type = "delay"
    async_only = True

    def check(self, config: JsonObject) -> list[Problem]:
        """Exactly one of `duration` and `until`; a known `unit`; `endStatus` resolved or failed."""
        problems = check_choice(config, "unit", UNITS) + check_choice(
            config, "endStatus", ["resolved", "failed", 1, -1]
        )
        duration, until = config.get("duration"), config.get("until")
        if (duration is None) == (until is None):
            problems.append(Problem(where("duration"), "give either duration (with unit) or until, not both"))
        elif duration is not None and not _is_template(duration):
            try:
                _length(duration, config.get("unit", DEFAULT_UNIT))
            except ValueError as error:
                problems.append(Problem(where("duration"), str(error)))
        elif until is not None and not _is_template(until):
            try:
                _time(until)
            except ValueError as error:
                problems.append(Problem(where("until"), str(error)))
        return problems

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """First call: compute the end and wait for it. Called again once it has come: go on."""
        now = datetime.now(UTC)
        try:
            resume_at = _resume_at(ctx.previous.result if ctx.previous else None) or _end(config, ctx, now)
        except ValueError as error:
            return Outcome(JobStatus.ERROR, {"message": str(error)})
        state: JsonValue = {RESUME_AT: resume_at.isoformat()}
        if resume_at > now:
            return Outcome.later(resume_at, state, WaitReason.DELAY)
        status = end_status(config)
        return Outcome(status, state, ends=status is not JobStatus.RESOLVED)


def _end(config: JsonObject, ctx: NodeContext, now: datetime) -> datetime:
    """When the delay ends: now plus the rendered duration, or the rendered `until` time."""
    if config.get("until") is not None:
        return _time(ctx.render(config["until"]))
    length = _length(ctx.render(config["duration"]), config.get("unit", DEFAULT_UNIT))
    return now + length


def _length(duration: JsonValue, unit: Any) -> timedelta:
    """A duration in `unit`s as a timedelta; ValueError unless it is a positive number within LONGEST."""
    number = _number(duration)
    if number is None or not math.isfinite(number) or number < 0:
        raise ValueError(f"duration must be a number of {unit} from 0 up, not {duration!r}")
    seconds = number * UNITS.get(unit, 1.0)
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"duration is longer than the longest delay ({LONGEST.days} days)")
    return timedelta(seconds=seconds)


def _number(value: JsonValue) -> float | None:
    """A number, or a string holding one (a rendered template); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _time(value: JsonValue) -> datetime:
    """An ISO 8601 time (UTC when it names no zone) or epoch milliseconds, as an aware datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"until {value!r} is not a time") from None
    if not isinstance(value, str):
        raise ValueError(f"until must be an ISO 8601 time such as 2026-12-24T18:00:00Z, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"until must be an ISO 8601 time such as 2026-12-24T18:00:00Z, not {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _resume_at(state: JsonValue) -> datetime | None:
    """The end a first call computed and kept in its pending job, when this is a later call."""
    if isinstance(state, dict) and isinstance(state.get(RESUME_AT), str):
        return _time(state[RESUME_AT])
    return None


def _is_template(value: JsonValue) -> bool:
    """A string holding `{{ }}`: checked when it runs, once its variables have values."""
    return isinstance(value, str) and "{{" in value
