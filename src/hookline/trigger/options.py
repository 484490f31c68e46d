"""A workflow's `options` (docs/reference/workflow-json.md#options): checked when saved, parsed once.

Each option has one check, which gives the problems the admin API answers, and one build, which
turns a value that passed its check into its typed form. `parse_options` builds only what passes,
so the parse and the check cannot disagree: an option with a problem is ignored, as if it were not
set. Saving refuses such options, so only a version stored by other means can hold one.
`CompiledFlow` parses a version's options once; the janitor parses the retention it applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hookline.errors import Problem, unknown_fields
from hookline.models import Limits
from hookline.store.retention import Retention, check_retention
from hookline.trigger.dedupe import DedupeSource, check_dedupe
from hookline.trigger.rate_rule import RateRule, check_rate_limit

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WorkflowOptions:
    """A workflow version's options, each valid one in its typed form; the defaults for the others."""

    timeout_ms: int = 0
    """`timeout`: a run that takes longer (milliseconds) ends `aborted`; 0: no limit."""
    concurrency: int | None = None
    """`concurrency`: at most this many runs of the workflow at once; None: no limit."""
    queue_limit: int | None = None
    """`queueLimit`: at most this many queued executions of the workflow; None: no own limit."""
    dedupe: DedupeSource | None = None
    """`dedupe`: where a request carries its idempotency key; None: requests are not deduplicated."""
    rate_limit: RateRule | None = None
    """`rateLimit`: how many requests the workflow accepts per second or minute; None: any number."""
    retention: Retention | None = None
    """`retention`: when finished executions are deleted; None: they are kept."""

    @property
    def timeout_seconds(self) -> float:
        """The `timeout` in seconds; 0.0 for none."""
        return self.timeout_ms / 1000

    def limits(self, default_queue_limit: int | None = None) -> Limits | None:
        """Its `concurrency` and `queueLimit` (else `default_queue_limit`) as limits; None without any."""
        if self.queue_limit is not None:
            default_queue_limit = None
        if self.concurrency is None and self.queue_limit is None and default_queue_limit is None:
            return None
        return Limits(self.concurrency, self.queue_limit, default_queue_limit)


@dataclass(frozen=True, slots=True)
class _Option(Generic[T]):
    """One option: its name in `options`, the problems of a value, and the typed form of a valid one."""

    name: str
    check: Callable[[Any], list[Problem]]
    build: Callable[[Any], T]
    """Called only with a value `check` finds nothing wrong with (and never with null)."""

    def parse(self, options: dict[str, Any]) -> T | None:
        """The typed value of this option in `options`; None when it is absent, null or invalid."""
        value = options.get(self.name)
        if value is None or self.check(value):
            return None
        return self.build(value)


def _whole(name: str, low: int, message: str) -> Callable[[Any], list[Problem]]:
    """The check of an option that is a whole number of `low` or more (a boolean is not a number)."""

    def check(value: Any) -> list[Problem]:
        if isinstance(value, int) and not isinstance(value, bool) and value >= low:
            return []
        return [Problem(f"options.{name}", message)]

    return check


def _nullable(check: Callable[[Any], list[Problem]]) -> Callable[[Any], list[Problem]]:
    """The same check, but null is valid too (it means: not set)."""
    return lambda value: [] if value is None else check(value)


_MILLISECONDS = "must be a whole number of milliseconds, 0 or more"
_LIMIT = "must be a whole number, 1 or more, or null"
_TIMEOUT = _Option(
    "timeout", _whole("timeout", 0, _MILLISECONDS), int
)  # unlike a limit's, a null timeout is refused
_CONCURRENCY = _Option("concurrency", _nullable(_whole("concurrency", 1, _LIMIT)), int)
_QUEUE_LIMIT = _Option("queueLimit", _nullable(_whole("queueLimit", 1, _LIMIT)), int)
_DEDUPE = _Option("dedupe", check_dedupe, DedupeSource.from_setting)
_RETENTION = _Option("retention", check_retention, Retention.from_setting)
_RATE_LIMIT = _Option("rateLimit", check_rate_limit, RateRule.from_setting)

_OPTIONS: tuple[_Option[Any], ...] = (_TIMEOUT, _CONCURRENCY, _QUEUE_LIMIT, _DEDUPE, _RETENTION, _RATE_LIMIT)
"""Every option, in the order their problems are reported."""
OPTION_FIELDS = tuple(option.name for option in _OPTIONS)
"""The fields workflow options may hold."""

NO_OPTIONS = WorkflowOptions()
"""The options of a workflow that sets none: every default."""


def check_options(options: Any) -> list[Problem]:
    """The problems with workflow options, each at `options.<field>`; empty when valid."""
    if not isinstance(options, dict):
        return [Problem("options", "must be an object")]
    problems = unknown_fields(options, OPTION_FIELDS, "options")
    for option in _OPTIONS:
        if option.name in options:
            problems += option.check(options[option.name])
    return problems


def parse_options(options: Any) -> WorkflowOptions:
    """The typed form of workflow options: each valid option read, each invalid or unknown one ignored."""
    if not isinstance(options, dict) or not options:
        return NO_OPTIONS
    return WorkflowOptions(
        timeout_ms=_TIMEOUT.parse(options) or 0,
        concurrency=_CONCURRENCY.parse(options),
        queue_limit=_QUEUE_LIMIT.parse(options),
        dedupe=_DEDUPE.parse(options),
        rate_limit=_RATE_LIMIT.parse(options),
        retention=_RETENTION.parse(options),
    )
