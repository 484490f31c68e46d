"""The admin API's bodies as pydantic models, so the OpenAPI document describes every one.

Request models are strict and refuse unknown fields. Response models mirror the JSON views of
`hookline.admin.views` field for field (refusing extras, so a drift between the two fails loudly).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from hookline.engine.captures import DEFAULT_TIMEOUT, MAX_TIMEOUT, MIN_TIMEOUT
from hookline.exchange import KEY_PATTERN
from hookline.models import ExecutionStatus, JobStatus

ID_PATTERN = r"^[0-9]{1,19}$"
"""An id as the API writes it: a decimal 63-bit number in a string."""

MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"
"""Text without NUL characters, which PostgreSQL cannot store."""


_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}")


def _date_time_text(value: Any) -> Any:
    """Only ISO 8601 date-times: pydantic alone would also read `0.5` as seconds since 1970."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise ValueError("must be an ISO 8601 date and time, such as 2026-01-31T12:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    """A time as aware UTC; a time without an offset is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


UtcTime = Annotated[datetime, BeforeValidator(_date_time_text), AfterValidator(_utc)]
"""A query time (ISO 8601); without an offset it means UTC."""

IdText = Annotated[str, Field(pattern=ID_PATTERN, examples=["1234567890123456789"])]
"""An id in a request body or query."""


def storable(data: Any) -> Any:
    """`data` unchanged when the store can keep it, else a ValueError (pydantic reports it as a 422).

    orjson (the store's encoder) refuses lone surrogates and integers over 64 bits, and
    PostgreSQL refuses NUL characters: refusing them up front turns a 500 into a 422.
    """
    try:
        encoded = orjson.dumps(data)
    except TypeError as exc:
        raise ValueError(f"the body cannot be stored: {exc}") from None
    # orjson writes NUL as \u0000 and a backslash as \\; dropping the pairs leaves only real NULs.
    if b"\\u0000" in encoded.replace(b"\\\\", b""):
        raise ValueError("the body cannot be stored: text may not contain NUL characters")
    return data


StorableObject = Annotated[dict[str, Any], AfterValidator(storable)]
"""A JSON object body that the store can keep."""


class RequestModel(BaseModel):
    """A request body: strict types, no unknown fields, and only values the store can keep."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # Not an object: pydantic itself says so, better than we would.
        return storable(data) if isinstance(data, dict) else data


class ResponseModel(BaseModel):
    """A response body, validated from a JSON view; extra fields are a bug."""

    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------------


class ErrorDetail(ResponseModel):
    """One problem: where it is (a dotted path) and what is wrong."""

    where: str
    message: str


class ErrorInfo(ResponseModel):
    """A machine-readable code, a sentence for people, and per-field problems when there are any."""

    code: str
    message: str
    details: list[ErrorDetail] | SkipJsonSchema[None] = None


class ErrorBody(ResponseModel):
    """Every error answer has this shape."""

    error: ErrorInfo


# -- workflows and nodes -----------------------------------------------------------------------


class WorkflowCreate(RequestModel):
    """A new workflow: disabled, without nodes, with a generated key."""

    title: str = Field(examples=["Order paid"])
    sync: bool = Field(description="Answer after the workflow ran (true) or at once, queued (false).")
    description: str | None = None
    config: dict[str, Any] | None = Field(None, description="The trigger config (docs/reference/trigger.md).")
    options: dict[str, Any] | None = Field(None, description="timeout, concurrency, dedupe, retention…")


class WorkflowPatch(RequestModel):
    """The fields to change; the others stay as they are."""

    title: str | SkipJsonSchema[None] = None
    description: str | None = None
    config: dict[str, Any] | SkipJsonSchema[None] = Field(
        None,
        description='The trigger config; "[secret:N]" keeps the stored secret at index N of its list, '
        '"[secret]" the stored password.',
    )
    options: dict[str, Any] | SkipJsonSchema[None] = None


class NodeCreate(RequestModel):
    """A node to add after `upstream_id` (null: as the head), or as the head of its branch `branch_index`."""

    type: str = Field(examples=["condition"])
    config: dict[str, Any]
    title: str | None = None
    key: str | None = Field(None, pattern=f"^{KEY_PATTERN.pattern}$", description="Generated when absent.")
    upstream_id: IdText | None = None
    branch_index: int | None = Field(None, ge=0, le=2**31 - 1)


class NodePatch(RequestModel):
    """A node's new title and/or config."""

    title: str | None = None
    config: dict[str, Any] | SkipJsonSchema[None] = None


class NodeMove(RequestModel):
    """Where to move a node (with its branches): as `NodeCreate` places a new one."""

    upstream_id: IdText | None = None
    branch_index: int | None = Field(None, ge=0, le=2**31 - 1)


class WorkflowOut(ResponseModel):
    """One workflow version and the URL that triggers it."""

    id: str
    key: str
    title: str
    description: str | None
    type: str
    sync: bool
    enabled: bool
    current: bool
    config: dict[str, Any] = Field(
        description='The trigger config; stored secrets show as "[secret:i]" (index i of their list) or '
        '"[secret]" (the password), `{{$env.NAME}}` ones as written.'
    )
    options: dict[str, Any]
    webhook_url: str
    created_at: str | None
    updated_at: str | None


class NodeOut(ResponseModel):
    """One node and its links by id."""

    id: str
    key: str
    type: str
    title: str | None
    config: dict[str, Any]
    upstream_id: str | None
    downstream_id: str | None
    branch_index: int | None


class FlowOut(WorkflowOut):
    """A workflow version with its nodes."""

    nodes: list[NodeOut]


class FlowDetailOut(FlowOut):
    """A workflow version with its nodes and how many executions it has (any: it is frozen)."""

    executions: int


class WorkflowPage(ResponseModel):
    """One page of current workflow versions, ordered by key."""

    items: list[WorkflowOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last one.")


class VersionList(ResponseModel):
    """Every version of a key, oldest first."""

    items: list[WorkflowOut]


class Deleted(ResponseModel):
    """What deleting a workflow removed besides its versions."""

    deleted_executions: int


class NodeDocument(ResponseModel):
    """One node in workflow JSON (docs/reference/workflow-json.md#nodes)."""

    key: str
    type: str
    title: str | None = None
    upstream: str | None
    branchIndex: int | None  # the file format's own name
    config: dict[str, Any]


class WorkflowDocument(ResponseModel):
    """Workflow JSON (docs/reference/workflow-json.md): what export gives and import takes."""

    key: str | None = None
    title: str
    description: str | None = None
    type: str = "webhook"
    sync: bool = False
    enabled: bool = False
    config: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] | None = None
    nodes: list[NodeDocument] = Field(default_factory=list)


# -- executions --------------------------------------------------------------------------------


class JobOut(ResponseModel):
    """One node run: status, result and timing."""

    id: str
    node_id: str
    node_key: str
    status: JobStatus
    result: Any
    meta: dict[str, Any]
    started_at: str | None
    finished_at: str | None


class ExecutionOut(ResponseModel):
    """One execution: trigger data, status, the answer it gave, timing."""

    id: str
    workflow_id: str
    key: str
    event_key: str
    parent_id: str | None = Field(description="The execution whose subflow node started this one, if any.")
    status: ExecutionStatus
    attempt: int
    error: str | None
    context: dict[str, Any]
    response: dict[str, Any] | None
    output: Any
    created_at: str
    started_at: str | None
    finished_at: str | None


class ExecutionDetailOut(ExecutionOut):
    """An execution with every job it recorded."""

    jobs: list[JobOut]


class ExecutionPage(ResponseModel):
    """Executions, newest first."""

    items: list[ExecutionOut]
    next_before: str | None = Field(description="Pass as `before` for the next page; null on the last one.")


class HeaderOut(ResponseModel):
    """One answer header."""

    name: str
    value: str


class AnswerOut(ResponseModel):
    """The HTTP answer a caller would get."""

    statusCode: int  # the answer's JSON name, as in trigger configs
    headers: list[HeaderOut]
    body: Any


class Replayed(ResponseModel):
    """The new execution (finished when the workflow is synchronous, else queued) and its answer."""

    execution: ExecutionOut
    answer: AnswerOut


# -- parse helpers -----------------------------------------------------------------------------


class QuerySample(RequestModel):
    """A sample URL, path with a query, or bare query string."""

    sample: str = Field(examples=["https://example.com/hook?a[0][b]=1&a[1]=x"])


class JsonSample(RequestModel):
    """A sample JSON body, given either as a JSON value (`sample`) or as text (`text`)."""

    sample: Any = Field(None, examples=[{"a": 1, "b": {"c": 2}}])
    text: str | SkipJsonSchema[None] = None


class PathItem(ResponseModel):
    """A path as a `config.request.*` item, with an empty alias to fill in."""

    key: str
    alias: str


class ParsedQuery(ResponseModel):
    """The parsed query and its paths (`query[0]`, `query[0].a`)."""

    parsed: dict[str, Any]
    paths: list[str]
    items: list[PathItem]


class ParsedJson(ResponseModel):
    """The paths of a JSON sample (`a`, `b`, `b.c`, `items[0].id`)."""

    paths: list[str]
    items: list[PathItem]


class NodeTypeOut(ResponseModel):
    """A node type the server runs, and in which workflows it may be used."""

    type: str
    sync_only: bool = Field(description="Only in synchronous workflows (the Response node).")
    async_only: bool = Field(description="Only in asynchronous workflows (nodes that wait).")
    terminal: bool = Field(description="Nothing may follow it.")


class KeyStats(ResponseModel):
    """One workflow key's executions since a time."""

    key: str
    total: int
    failed: int = Field(description="Executions that ended failed, error, aborted or rejected.")
    by_status: dict[str, int]


class ExecutionStats(ResponseModel):
    """Executions per workflow key since a time; keys without executions are left out."""

    since: datetime
    workflows: list[KeyStats]


# -- listen for a test request -----------------------------------------------------------------


class CaptureStart(RequestModel):
    """How long to wait for the next request to the workflow's URL."""

    timeout: float = Field(
        DEFAULT_TIMEOUT, ge=MIN_TIMEOUT, le=MAX_TIMEOUT, description="Seconds to wait, 1 to 300."
    )


class CapturedRequest(ResponseModel):
    """A captured request as a workflow would see it: credentials redacted, query and body parsed."""

    method: str
    headers: dict[str, str | None]
    query: dict[str, Any]
    body: Any
    contentType: str | None  # the request's JSON names, as the UI reads them
    receivedAt: datetime


class CapturePaths(ResponseModel):
    """The paths a trigger config can name in it, as the parse helpers give them."""

    headers: list[str] = Field(description="Header names (lower-case), the redacted credentials left out.")
    query: list[str] = Field(description="Query paths: `a`, `a[0]`, `a[0].b`.")
    body: list[str] = Field(description="Body paths: `a`, `b.c`, `items[0].id`.")


class CaptureOut(ResponseModel):
    """The captured request with its paths, or `{"status": "expired"}` when none came in time."""

    status: str = Field(examples=["captured", "expired"])
    request: CapturedRequest | SkipJsonSchema[None] = None
    paths: CapturePaths | SkipJsonSchema[None] = None


class BodySample(RequestModel):
    """A sample body as text, and the Content-Type it would arrive with."""

    text: str = Field(examples=['<order id="5"><status>paid</status></order>'])
    contentType: str = Field(  # the request header's own name, as the UI sends it
        "application/json", examples=["application/xml"]
    )


class ParsedBody(ResponseModel):
    """A sample body parsed as a request's body would be, its paths and their items."""

    parsed: Any = Field(description="The value `$context.body` would hold.")
    paths: list[str]
    items: list[PathItem]
