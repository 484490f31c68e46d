"""The Node contract: a type string, a config check, and a run that returns an Outcome."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from hookline.errors import Problem
from hookline.models import Answer, JobStatus, Node, Workflow
from hookline.types import JsonObject, JsonValue


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a node run gives back; only the processor decides what happens next.

    `branch` names the branch to run next (its branch index), `ends` ends the whole
    execution with `status`, and `answer` is the HTTP answer for a synchronous caller.
    A status other than resolved ends the execution too — after its `branch`, if it names one.
    """

    status: JobStatus
    result: JsonValue = None
    branch: int | None = None
    ends: bool = False
    answer: Answer | None = None
    meta: JsonObject = field(default_factory=dict)


class NodeContext(Protocol):
    """What a running node may see: its workflow, itself, and the variable scope."""

    @property
    def workflow(self) -> Workflow: ...

    @property
    def node(self) -> Node: ...

    @property
    def scope(self) -> Mapping[str, Any]: ...

    def render(self, value: JsonValue) -> JsonValue:
        """Resolve the `{{ }}` placeholders in a config value against the scope."""
        ...


class NodeType(ABC):
    """One kind of step. Subclasses set `type` and implement `check` and `run`."""

    type: ClassVar[str]
    sync_only: ClassVar[bool] = False
    """Only allowed in synchronous workflows (the Response node)."""
    async_only: ClassVar[bool] = False
    """Only allowed in asynchronous workflows (nodes that wait)."""
    terminal: ClassVar[bool] = False
    """Nothing may follow it: it always ends the execution."""

    @abstractmethod
    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with a config, each naming its field (`where`); empty when valid."""

    def has_branch(self, config: JsonObject, index: int) -> bool:
        """Whether a branch with this index may hang below a node of this type."""
        return False

    @abstractmethod
    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Do the node's work and say how it went. Exceptions become `error` jobs."""
