"""Retention: which finished executions a workflow keeps, from its `retention` option.

The option is an object with two optional fields, in days:
- `successDays`: resolved executions are deleted this long after they finished
  (0 keeps failed executions only);
- `maxAgeDays`: every finished execution is deleted this long after it finished.
Without the option (or with `{}`) every execution is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hookline.errors import Problem
from hookline.models import ExecutionStatus, Workflow
from hookline.store.base import RetentionRule

RETENTION_FIELDS = ("successDays", "maxAgeDays")


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


def retention_rules(current: Workflow, version_ids: Sequence[int], now: datetime) -> list[RetentionRule]:
    """The janitor's rules for every version of a key, from the current version's option."""
    retention = current.options.get("retention")
    if not isinstance(retention, dict):
        return []
    ids = tuple(version_ids)
    rules = []
    success_days = retention.get("successDays")
    if isinstance(success_days, int):
        cutoff = now - timedelta(days=success_days)
        rules.append(RetentionRule(ids, cutoff, (ExecutionStatus.RESOLVED,)))
    max_age = retention.get("maxAgeDays")
    if isinstance(max_age, int):
        rules.append(RetentionRule(ids, now - timedelta(days=max_age)))
    return rules
