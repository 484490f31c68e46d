"""A workflow's `options.rateLimit`: how many requests it accepts per second or minute, and from whom.

`{"requests": 100, "per": "minute", "by": "ip"}` accepts 100 requests a minute from each client
address; `"by": "workflow"` (the default) counts every request to the workflow together. The
`RateLimiter` (`hookline.engine.rate_limit`) applies it; this module checks a setting and reads a
valid one into a rule (`hookline.trigger.options` does both, once per workflow version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookline.errors import Problem, unknown_fields

PERIODS = {"second": 1, "minute": 60}
"""The windows a rate limit may count over, with their length in seconds."""
SCOPES = ("workflow", "ip")
"""Whom a rate limit counts: every request to the workflow together, or each client address apart."""

_FIELDS = ("requests", "per", "by")


@dataclass(frozen=True, slots=True)
class RateRule:
    """A valid `options.rateLimit`: at most `requests` per `per` (whose length is `period` seconds)."""

    requests: int
    per: str
    period: int
    by_ip: bool
    """Each client address has its own count (else the workflow's requests share one)."""

    @classmethod
    def from_setting(cls, setting: Mapping[str, Any]) -> RateRule:
        """The rule of a setting `check_rate_limit` accepts (`parse_options` builds it only then)."""
        per = setting["per"]
        return cls(setting["requests"], per, PERIODS[per], setting.get("by", "workflow") == "ip")


def check_rate_limit(setting: Any) -> list[Problem]:
    """The problems with an `options.rateLimit`, each at `options.rateLimit.<field>`; empty when valid."""
    where = "options.rateLimit"
    if setting is None:
        return []
    if not isinstance(setting, dict):
        return [Problem(where, 'must be an object like {"requests": 100, "per": "minute"}, or null')]
    problems = unknown_fields(setting, _FIELDS, where)
    requests = setting.get("requests")
    if not isinstance(requests, int) or isinstance(requests, bool) or requests < 1:
        problems.append(Problem(f"{where}.requests", "must be a whole number, 1 or more"))
    per = setting.get("per")
    if not isinstance(per, str) or per not in PERIODS:  # a list or an object is not a dict key
        problems.append(Problem(f"{where}.per", 'must be "second" or "minute"'))
    if setting.get("by", "workflow") not in SCOPES:
        problems.append(Problem(f"{where}.by", 'must be "workflow" or "ip" (when given)'))
    return problems
