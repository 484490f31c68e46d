"""The bounds a JSON query runs within: a deadline, a nesting depth, and the size of what it builds.

JMESPath and JSONata both evaluate a tree one step at a time; the engines (`_query_engines.py`)
call `QueryBudget.step` on every step, so an expression that loops (JSONata's tail recursion),
recurses without end or doubles a string on every step is stopped with a clear error, never a
hung worker or an exhausted memory.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookline.errors import NodeError


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """How far one query may go; the defaults are documented in docs/nodes.md (json-query)."""

    seconds: float = 1.0
    """Wall-clock time for the whole evaluation."""
    depth: int = 200
    """Nested evaluation steps (JSONata recursion) before the query is stopped."""
    string_chars: int = 10_000_000
    """Characters of any one string a step builds (`$pad`, `&`, `join`, `$string`)."""
    list_items: int = 1_000_000
    """Items of any one list a step builds."""
    result_size: int = 10_000_000
    """The result's size: one per value plus the characters of its strings and keys."""


DEFAULT_LIMITS = QueryLimits()


class QueryTooCostly(NodeError):
    """A query went past one of its limits; the message names the limit."""


class QueryBudget:
    """One evaluation's account: started when made, it refuses a step past a limit."""

    __slots__ = ("_deadline", "depth", "limits")

    def __init__(self, limits: QueryLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.depth = 0
        self._deadline = time.monotonic() + limits.seconds

    def check_time(self) -> None:
        """Stop the query once its time is up."""
        if time.monotonic() > self._deadline:
            raise QueryTooCostly(f"the query ran longer than {self.limits.seconds:g} s and was stopped")

    def enter(self) -> None:
        """A nested step starts: check the time and the depth."""
        self.depth += 1
        if self.depth > self.limits.depth:
            raise QueryTooCostly(
                f"the query nested deeper than {self.limits.depth} steps (endless recursion?)"
            )
        self.check_time()

    def leave(self, value: Any) -> None:
        """A nested step ended with `value`: check its size and the time."""
        self.depth -= 1
        self.check_value(value)
        self.check_time()

    def check_value(self, value: Any) -> None:
        """Refuse a string or list one step built past its limit."""
        if isinstance(value, str) and len(value) > self.limits.string_chars:
            raise QueryTooCostly(
                f"the query built a string longer than {self.limits.string_chars} characters"
            )
        if isinstance(value, list) and len(value) > self.limits.list_items:
            raise QueryTooCostly(f"the query built a list longer than {self.limits.list_items} items")

    def check_result(self, value: Any) -> None:
        """Refuse a result larger than `result_size` (measured without building it as text)."""
        if not fits(value, self.limits.result_size):
            raise QueryTooCostly(f"the query's result is larger than {self.limits.result_size} units")


def fits(value: Any, limit: int) -> bool:
    """Whether `value` counts at most `limit`: one per value plus its strings' and keys' characters.

    The walk stops as soon as the count passes `limit`, so a value that shares one list many
    times over (and would be huge written out) costs no more than `limit` to measure.
    """
    count = 0
    pending = [value]
    while pending:
        item = pending.pop()
        count += 1
        if isinstance(item, str):
            count += len(item)
        elif isinstance(item, Mapping):
            count += sum(len(key) if isinstance(key, str) else 1 for key in item)
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        if count > limit:
            return False
    return True
