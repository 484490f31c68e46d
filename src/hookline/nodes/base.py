"""The Node contract: a type string, a config check, and a run that returns an Outcome."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from hookline.errors import Problem
from hookline.models import Answer, ExecutionStatus, Job, JobStatus, Node, Workflow
from hookline.types import JsonObject, JsonValue

if TYPE_CHECKING:
    import httpx


class WaitReason(StrEnum):
    """Why a node asked to be called again later; stored in its pending job's meta."""

    DELAY = "delay"
    """The node waits on purpose (a delay): a synchronous workflow refuses such nodes."""
    RETRY = "retry"
    """The node failed for now and wants another attempt (a request that got a 503)."""
    EVENT = "event"
    """The node waits for something else to happen (a subflow's execution to finish); it may be
    woken before its time, and then it is called at once."""


@dataclass(frozen=True, slots=True)
class Wait:
    """A node's request to be called again at `until`, with its pending job as `ctx.previous`.

    In an asynchronous execution the engine records the pending job, sets the execution
    `waiting` and lets go of it (no worker, no claim); any process resumes it once due. In a
    synchronous one a retry waits in place, within the workflow's timeout.
    """

    until: datetime
    reason: WaitReason = WaitReason.RETRY


class Checkpoint(StrEnum):
    """When an iteration's condition is checked: before an item's branch runs, or after."""

    BEFORE = "before"
    AFTER = "after"


class ItemFailure(StrEnum):
    """What an item whose branch failed does to its loop."""

    FAIL = "fail"
    """The loop fails with the branch's status, and so does the execution."""
    BREAK = "break"
    """The loop stops there and resolves; the workflow goes on after it."""
    CONTINUE = "continue"
    """The next item runs."""


@dataclass(frozen=True, slots=True)
class Iteration:
    """A node's request to run its branch 0 once per item (a loop); the engine runs the items.

    Each item's branch sees `$scopes.<node key>` = `{item, index, sequence, length}`. `keep_going`,
    when given, is asked at `checkpoint` with that item's context: False stops the loop (it
    resolves, `broken`), or with `skip_on_false` skips the item (before) or goes on (after).
    """

    items: Sequence[JsonValue]
    keep_going: Callable[[NodeContext], bool] | None = None
    checkpoint: Checkpoint = Checkpoint.BEFORE
    skip_on_false: bool = False
    on_failure: ItemFailure = ItemFailure.FAIL


class ForkMode(StrEnum):
    """How a fork's branches, run at the same time, decide its outcome."""

    ALL = "all"
    """Resolves when every branch has resolved; fails as soon as one fails."""
    ANY = "any"
    """Resolves as soon as one branch resolves; fails when all have failed."""
    RACE = "race"
    """The first branch to finish decides, resolved or failed."""
    ALL_SETTLED = "allSettled"
    """Waits for every branch and resolves whatever they did; its result lists each one."""


@dataclass(frozen=True, slots=True)
class Fork:
    """A node's request to run all its branches at once (a parallel node); the engine runs them.

    Branches still running once the outcome is decided are canceled.
    """

    mode: ForkMode = ForkMode.ALL


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a node run gives back; only the processor decides what happens next.

    `branch` names the branch to run next (its branch index), `ends` ends the whole
    execution with `status`, and `answer` is the HTTP answer for a synchronous caller.
    A status other than resolved ends the execution too — after its `branch`, if it names one.
    With `wait` (status `pending`), the node is called again later: `result` is its state
    then, kept in its pending job and given back as `ctx.previous`. With `iterate`, the engine
    runs the node's branch 0 once per item; the node's job then records how the loop went.
    With `fork`, the engine runs every branch of the node at once; its job records each branch.
    """

    status: JobStatus
    result: JsonValue = None
    branch: int | None = None
    ends: bool = False
    answer: Answer | None = None
    meta: JsonObject = field(default_factory=dict)
    wait: Wait | None = None
    iterate: Iteration | None = None
    fork: Fork | None = None

    @classmethod
    def later(
        cls, until: datetime, state: JsonValue = None, reason: WaitReason = WaitReason.RETRY
    ) -> Outcome:
        """Be called again at `until`, with `state` as the result of the pending job meanwhile."""
        return cls(JobStatus.PENDING, state, wait=Wait(until, reason))


@dataclass(frozen=True, slots=True)
class ChildRun:
    """An execution a subflow node started: its id, its workflow's key, its status and its answer."""

    execution_id: int
    key: str
    status: ExecutionStatus
    answer: JsonObject | None = None


class Subflows(Protocol):
    """How a node starts another workflow and learns how that went (the engine provides it)."""

    async def start(
        self, key: str, context: JsonObject, *, parent_id: int, step_key: str, run_now: bool
    ) -> ChildRun:
        """Start the workflow `key` once for this parent step (again: the run it started before).

        `run_now`: a synchronous workflow runs here and now, and its answer comes back; otherwise
        the execution is queued. Raises NodeError when `key` names no enabled workflow, or the
        chain of subflows is too deep.
        """
        ...

    async def state(self, execution_id: int) -> ChildRun | None:
        """How a started execution stands now; None once it is gone (deleted)."""
        ...


@dataclass(frozen=True, slots=True)
class Resources:
    """What nodes share in one process, opened and closed with the app: one outbound HTTP client,
    and the engine's way to start other workflows (None where no engine runs: a bare test)."""

    http: httpx.AsyncClient
    subflows: Subflows | None = None


class NodeContext(Protocol):
    """What a running node may see: its execution, itself, the variable scope and shared resources."""

    @property
    def workflow(self) -> Workflow: ...

    @property
    def node(self) -> Node: ...

    @property
    def scope(self) -> Mapping[str, Any]: ...

    @property
    def execution_id(self) -> int: ...

    @property
    def step_key(self) -> str:
        """This step's name in its execution: the node key, plus the loop item inside loops (`post@each#2`).

        The same on every run of the step (after a crash, after a wait), different for each loop
        item: what a node names an outside effect by, so that a repeat can be recognised.
        """
        ...

    @property
    def job_id(self) -> int:
        """The id of this node's job: the same on every attempt and after a wait."""
        ...

    @property
    def attempt(self) -> int:
        """This node's attempt in this execution, from 1 (a wait for a retry counts one up)."""
        ...

    @property
    def previous(self) -> Job | None:
        """This node's pending job when it is called again after a wait (its state), else None."""
        ...

    @property
    def deadline(self) -> float | None:
        """The `time.monotonic()` by which the execution must end (the workflow timeout), or None."""
        ...

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that names the execution and the node in every line."""
        ...

    @property
    def resources(self) -> Resources:
        """The process's shared resources (the outbound HTTP client)."""
        ...

    def render(self, value: JsonValue) -> JsonValue:
        """Resolve the `{{ }}` placeholders in a config value against the scope."""
        ...


class NodeType(ABC):
    """One kind of step. Subclasses set `type` and implement `check` and `run`."""

    type: ClassVar[str]
    sync_only: ClassVar[bool] = False
    """Only allowed in synchronous workflows (the Response node)."""
    async_only: ClassVar[bool] = False
    """Only allowed in asynchronous workflows (nodes that wait on purpose, such as `delay`)."""
    terminal: ClassVar[bool] = False
    """Nothing may follow it, whatever its config: it always ends the execution."""
    outside_effects: ClassVar[bool] = True
    """Its run may change something outside the execution (a call, a child run, a wait). In an
    asynchronous run the jobs before it are committed before it starts, and its own job once it ends.
    A node without (a condition, a calculation) says False: its job is committed with the execution's
    next write (the next such node's, the wait, the finish), and a crash before that runs it again,
    which changes nothing."""

    @abstractmethod
    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with a config, each naming its field (`where`); empty when valid."""

    def has_branch(self, config: JsonObject, index: int) -> bool:
        """Whether a branch with this index may hang below a node of this type."""
        return False

    def ends_flow(self, config: JsonObject) -> bool:
        """Whether a node with this config ends the execution, so that nothing may follow it."""
        return self.terminal

    @abstractmethod
    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Do the node's work and say how it went. Exceptions become `error` jobs."""
