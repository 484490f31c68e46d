"""Retention: which finished executions a workflow keeps, from its `retention` option.

The option is an object with two optional fields, in days:
- `successDays`: resolved executions are deleted this long after they finished
  (0 keeps failed executions only);
- `maxAgeDays`: every finished execution is deleted this long after it finished.
Without the option (or with `{}`) every execution is kept. `hookline.trigger.options` checks the
option and builds a `Retention` of a valid one; the janitor turns that into rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hookline.errors import Problem
from hookline.models import ExecutionStatus
from hookline.store.execution_history import RetentionRule

RETENTION_FIELDS = ("successDays", "maxAgeDays")


@dataclass(frozen=True, slots=True)
class Retention:
    """A valid `retention` option: how many days after they finished executions are deleted."""

    success_days: int | None = None
    """Resolved executions go this many days after they finished; None: not for being resolved."""
    max_age_days: int | None = None
    """Every finished execution goes this many days after it finished; None: never for its age."""

    @classmethod
    def from_setting(cls, setting: Mapping[str, Any]) -> Retention:
        """The retention of an option `check_retention` accepts (`parse_options` builds it only then)."""
        return cls(setting.get("successDays"), setting.get("maxAgeDays"))


def check_retention(retention: Any) -> list[Problem]:
    """The problems with a `retention` option, each at `options.retention.<field>`."""
    if retention is None:
        return []
    if not isinstance(retention, dict):
        return [Problem("options.retention", 'must be an object like {"successDays": 7, "maxAgeDays": 90}')]
    problems = [
        Problem(f"options.retention.{name}", "is not a retention setting; use successDays or maxAgeDays")
        for name in retention
        if name not in RETENTION_FIELDS
    ]
    for name, low in (("successDays", 0), ("maxAgeDays", 1)):
        value = retention.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            problems.append(
                Problem(f"options.retention.{name}", f"must be a whole number of days, {low} or more")
            )
    return problems


def retention_rules(
    retention: Retention | None, version_ids: Sequence[int], now: datetime
) -> list[RetentionRule]:
    """The janitor's rules for every version of a key, from the current version's retention."""
    if retention is None:
        return []
    ids = tuple(version_ids)
    rules = []
    if retention.success_days is not None:
        cutoff = now - timedelta(days=retention.success_days)
        rules.append(RetentionRule(ids, cutoff, (ExecutionStatus.RESOLVED,)))
    if retention.max_age_days is not None:
        rules.append(RetentionRule(ids, now - timedelta(days=retention.max_age_days)))
    return rules
