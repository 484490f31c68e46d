"""The HooklineError tree: each error knows its HTTP status, its code and its CLI exit code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a piece of user input: where it is and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def unknown_fields(data: Mapping[str, Any], allowed: Iterable[str], where: str) -> list[Problem]:
    """One problem per field of `data` that is not in `allowed`, each at `<where>.<field>`."""
    known = set(allowed)
    return [Problem(f"{where}.{name}", f"unknown field {name!r}") for name in data if name not in known]


class HooklineError(Exception):
    """The root of every error hookline raises on purpose."""

    status: int = 500
    code: str = "internal_error"
    exit_code: int = 1

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})

    def to_json(self) -> dict[str, object]:
        """The error as the JSON body hookline answers with."""
        return {"error": {"code": self.code, "message": self.message}}


class ConfigError(HooklineError):
    """A setting or command-line option is wrong."""

    code = "bad_config"
    exit_code = 2


class InvalidWorkflow(HooklineError):
    """A workflow, its graph or a node config does not validate."""

    status = 422
    code = "invalid_workflow"
    exit_code = 2

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        summary = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"The workflow is not valid: {summary}{more}")

    def to_json(self) -> dict[str, object]:
        """The error with one entry per problem."""
        body = super().to_json()
        body["error"]["details"] = [  # type: ignore[index]
            {"where": p.where, "message": p.message} for p in self.problems
        ]
        return body


class NotFound(HooklineError):
    """The thing asked for does not exist (or is not enabled)."""

    status = 404
    code = "not_found"
    exit_code = 3


class Conflict(HooklineError):
    """The change contradicts the current state (an executed version is frozen)."""

    status = 409
    code = "conflict"
    exit_code = 5

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RejectedRequest(HooklineError):
    """A webhook request that hookline refuses before running anything.

    `detail` is what the server's log (and the admin API) may say beyond the answer's `message`,
    for refusals whose cause the sender must not learn (which variable a secret comes from).
    """

    exit_code = 1

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, headers=headers)
        self.status = status
        self.code = code
        self.detail = detail


class NodeError(HooklineError):
    """A node could not do its work; recorded as an error job, never a crash."""

    code = "node_error"
    retryable = False


class RetryableNodeError(NodeError):
    """A node failure that may succeed when tried again (a timeout, a 503 upstream)."""

    retryable = True


class StorageUnavailable(HooklineError):
    """The database cannot be reached or did not commit in time."""

    status = 503
    code = "storage_unavailable"
    exit_code = 4
