"""The domain records: workflows, nodes, executions, jobs, statuses, limits and idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hookline.types import JsonObject, JsonValue


class ExecutionStatus(StrEnum):
    """Where an execution is in its life; stored as the string it reads."""

    QUEUED = "queued"
    STARTED = "started"
    WAITING = "waiting"
    """A node suspended it until a time: no worker holds it; any process resumes it when due."""
    RESOLVED = "resolved"
    FAILED = "failed"
    ERROR = "error"
    ABORTED = "aborted"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        """True once the execution can no longer change."""
        return self not in (ExecutionStatus.QUEUED, ExecutionStatus.STARTED, ExecutionStatus.WAITING)


class JobStatus(StrEnum):
    """The outcome of one node run; stored as the string it reads."""

    PENDING = "pending"
    RESOLVED = "resolved"
    FAILED = "failed"
    ERROR = "error"
    ABORTED = "aborted"
    CANCELED = "canceled"
    REJECTED = "rejected"
    RETRY_NEEDED = "retry_needed"

    def to_execution_status(self) -> ExecutionStatus:
        """The execution status that a job ending the execution with this status gives."""
        if self is JobStatus.PENDING or self is JobStatus.RETRY_NEEDED:
            return ExecutionStatus.STARTED
        return ExecutionStatus(self.value)


NOCOBASE_STATUS_CODES: dict[str, int | None] = {
    "queued": None,
    "started": 0,
    "waiting": 0,
    "pending": 0,
    "resolved": 1,
    "failed": -1,
    "error": -2,
    "aborted": -3,
    "canceled": -4,
    "rejected": -5,
    "retry_needed": -6,
}
"""The numeric codes NocoBase uses for the same statuses, for export."""


@dataclass(frozen=True, slots=True)
class Workflow:
    """One version of a workflow: its trigger config, options and flags."""

    id: int
    key: str
    title: str
    type: str = "webhook"
    sync: bool = False
    enabled: bool = False
    current: bool = False
    description: str | None = None
    config: JsonObject = field(default_factory=dict)
    options: JsonObject = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def settings(self) -> JsonObject:
        """What its author sets (key, title, description, type, sync, enabled, config, options), by
        the names both its stored row and its API view use."""
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "type": self.type,
            "sync": self.sync,
            "enabled": self.enabled,
            "config": self.config,
            "options": self.options,
        }


@dataclass(frozen=True, slots=True)
class Node:
    """One step of a workflow version, linked to its neighbours by id."""

    id: int
    workflow_id: int
    key: str
    type: str
    config: JsonObject = field(default_factory=dict)
    title: str | None = None
    upstream_id: int | None = None
    downstream_id: int | None = None
    branch_index: int | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """A workflow version together with all of its nodes."""

    workflow: Workflow
    nodes: tuple[Node, ...]
    capture_until: datetime | None = None
    """Until when a capture of its key is armed (only `get_live_flow` reads it); None: no capture."""


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of a workflow version, from the trigger data to the answer it gave."""

    id: int
    workflow_id: int
    key: str
    event_key: str
    context: JsonObject
    status: ExecutionStatus
    created_at: datetime
    output: JsonValue = None
    response: JsonObject | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt: int = 0
    error: str | None = None

    @property
    def parent_id(self) -> int | None:
        """The execution whose subflow node started this one, or None (its event key names it)."""
        return subflow_parent(self.event_key)


SUBFLOW_EVENT_PREFIX = "@subflow:"
"""The event key of an execution a subflow node started: `@subflow:<parent id>:<step key>`.

`@` starts no workflow key, so no webhook's event key looks like it; being unique, the key also
makes the child start once per parent step, whatever crashes and retries happen.
"""


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's hold on an execution it runs: taken `at`, lapsing at `expires_at` unless renewed."""

    worker_id: str
    at: datetime
    expires_at: datetime


def subflow_event_key(parent_id: int, step_key: str) -> str:
    """The event key of the execution a parent's subflow step starts."""
    return f"{SUBFLOW_EVENT_PREFIX}{parent_id}:{step_key}"


def subflow_parent(event_key: str) -> int | None:
    """The parent execution's id in a subflow's event key, or None for any other key."""
    if not event_key.startswith(SUBFLOW_EVENT_PREFIX):
        return None
    parent, _, _ = event_key.removeprefix(SUBFLOW_EVENT_PREFIX).partition(":")
    return int(parent) if parent.isdigit() else None


@dataclass(frozen=True, slots=True)
class Job:
    """The record of one node run inside an execution."""

    id: int
    execution_id: int
    node_id: int
    node_key: str
    status: JobStatus
    result: JsonValue = None
    meta: JsonObject = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WireForm:
    """An answer as it goes on the wire, but for the headers each request adds: raw headers and body."""

    headers: tuple[tuple[bytes, bytes], ...]
    """Lower-case names and their values as bytes, with the body's length and type."""
    body: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer a workflow gives its caller: status, headers and a JSON or text body."""

    status_code: int
    headers: tuple[tuple[str, str], ...] = ()
    body: JsonValue = None
    wire: WireForm | None = field(default=None, compare=False, repr=False)
    """The answer encoded and checked (`trigger.responses.sendable`), or None when not yet."""

    def to_json(self) -> JsonObject:
        """The answer as stored in `execution.response`."""
        return {
            "statusCode": self.status_code,
            "headers": [{"name": n, "value": v} for n, v in self.headers],
            "body": self.body,
        }

    @classmethod
    def from_json(cls, data: JsonObject) -> Answer:
        """The answer back from its stored form."""
        headers = tuple((str(h["name"]), str(h["value"])) for h in data.get("headers") or ())
        return cls(int(data["statusCode"]), headers, data.get("body"))


@dataclass(frozen=True, slots=True)
class Limits:
    """A workflow version's back-pressure options, as the queue applies them to its executions.

    The options are described in docs/reference/workflow-json.md#options; `WorkflowOptions.limits`
    (`hookline.trigger.options`) makes these of them.
    """

    concurrency: int | None = None
    """At most this many executions of the key are `started` with a live claim at once."""
    queue_limit: int | None = None
    """A new execution is refused while this many executions of the key are `queued` (checked exactly)."""
    default_queue_limit: int | None = None
    """Without `queue_limit`: the process's default (`HOOKLINE_QUEUE_LIMIT`), which the dispatcher
    checks against its approximate counts (`Backlog`); the store only records it with the execution."""

    @property
    def stored_queue_limit(self) -> int | None:
        """The queue limit recorded with an execution: the workflow's own, else the default.

        The queued executions recorded with one are those the counts find (`ix_executions_bounded`).
        """
        return self.default_queue_limit if self.queue_limit is None else self.queue_limit


@dataclass(frozen=True, slots=True)
class DedupeKey:
    """An idempotency key as stored (a digest of the workflow key and the value), and its expiry."""

    key: str
    expires_at: datetime
    """Until when the key holds its execution's answer; after that a request with it runs again."""


@dataclass(frozen=True, slots=True)
class DedupeHolder:
    """The execution holding an idempotency key, and the answer it gave (None while it runs)."""

    execution_id: int
    response: JsonObject | None
