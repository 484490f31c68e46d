"""Idempotency (docs/idempotency.md): where a workflow's `options.dedupe` finds a request's key (the
setting and its check), and the key itself.

`options.dedupe = {"source": "headers.idempotency-key", "window": 86400}` names a place in the
trigger context: a header (`headers.<name>`, any case), a query path (`query.<path>`) or a body
path (`body.<path>`), the paths written as in templates. A request whose source holds a value
(not null, not empty) has an idempotency key: the workflow key with that value. A request
whose source is missing has none and runs like any other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from hookline.errors import Problem, unknown_fields
from hookline.expressions.templates import Path, parse_path, resolve_path
from hookline.trigger.context import REDACTED, REDACTED_HEADERS

SOURCE_PARTS = ("headers", "query", "body")
"""The parts of the trigger context a dedupe source may name."""
DEFAULT_WINDOW = 86_400
"""How long (seconds) a key holds its answer when the option names no window: 24 hours."""
MAX_WINDOW = 30 * 86_400
"""The longest window accepted: 30 days."""

_SHOWN_LENGTH = 128
"""Values up to this long (and printable) appear as they are in the execution's event key."""


@dataclass(frozen=True, slots=True)
class DedupeSource:
    """A valid `options.dedupe`: the context part, the path inside it, and the window in seconds."""

    part: str
    path: Path
    window: int

    @classmethod
    def from_setting(cls, setting: Mapping[str, Any]) -> DedupeSource:
        """The source of a setting `check_dedupe` accepts (`parse_options` builds it only then)."""
        part, path = parse_source(setting["source"])
        return cls(part, path, setting.get("window", DEFAULT_WINDOW))

    def key(self, workflow_key: str, context: Mapping[str, Any]) -> RequestKey | None:
        """The idempotency key of a request with this context, or None when the source holds nothing."""
        value = resolve_path(context.get(self.part), self.path)
        if value is None or value == "":
            return None
        if self.part == "headers" and value == REDACTED:
            return None  # a credential is never a key (and would make every request a duplicate)
        text = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        return RequestKey(workflow_key, text, self.window)


def check_dedupe(dedupe: Any) -> list[Problem]:
    """The problems with an `options.dedupe`, each at `options.dedupe.<field>`; empty when valid.

    A setting names a source in the trigger context and, when given, a window in seconds.
    """
    where = "options.dedupe"
    if dedupe is None:
        return []
    if not isinstance(dedupe, dict):
        return [Problem(where, 'must be an object like {"source": "headers.idempotency-key"}, or null')]
    problems = unknown_fields(dedupe, ("source", "window"), where)
    try:
        parse_source(dedupe.get("source"))
    except ValueError as error:
        problems.append(Problem(f"{where}.source", str(error)))
    window = dedupe.get("window", DEFAULT_WINDOW)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= MAX_WINDOW:
        message = f"must be a whole number of seconds from 1 to {MAX_WINDOW} (30 days)"
        problems.append(Problem(f"{where}.window", message))
    return problems


def parse_source(source: Any) -> tuple[str, Path]:
    """The context part and path of a dedupe source; ValueError saying what is wrong.

    A header is one name (lower-cased, as in the context); query and body take template paths.
    """
    if not isinstance(source, str) or not source:
        raise ValueError('must be a non-empty string such as "headers.idempotency-key"')
    part, _, rest = source.partition(".")
    if part not in SOURCE_PARTS or not rest:
        raise ValueError(
            'must start with "headers.", "query." or "body." and name what follows, '
            'e.g. "headers.idempotency-key" or "body.order.id"'
        )
    if part == "headers":
        name = rest.lower()
        if name in REDACTED_HEADERS:
            raise ValueError(f"cannot be the credential header {name!r}: it is never stored")
        return part, (name,)
    try:
        return part, parse_path(rest)
    except ValueError:
        raise ValueError(f"{rest!r} is not a path like order.id or items[0].id") from None


@dataclass(frozen=True, slots=True)
class RequestKey:
    """A request's idempotency key: its workflow key and value, and the window it holds for."""

    workflow_key: str
    value: str
    window: int

    @property
    def digest(self) -> str:
        """What the store keeps: a SHA-256 of the workflow key and the value (fixed size, any value)."""
        raw = f"{self.workflow_key}\x00{self.value}".encode("utf-8", "surrogatepass")
        return hashlib.sha256(raw).hexdigest()

    def event_key(self, execution_id: int) -> str:
        """The event key of the execution that takes this key: unique, and naming the value.

        See `event_key` in docs/reference/workflow-json.md#execution.
        """
        value = self.value
        if len(value) > _SHOWN_LENGTH or not value.isprintable():
            # Long or odd values (a NUL byte cannot be stored in PostgreSQL text) appear hashed.
            value = "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self.workflow_key}:{value}:{execution_id}"
