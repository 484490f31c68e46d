"""The response node: answer a synchronous webhook caller and end the execution."""

from __future__ import annotations

from typing import Any

import orjson

from hookline.errors import NodeError, Problem
from hookline.models import Answer, JobStatus
from hookline.nodes._config import check_int_range, check_name_value_list
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

DEFAULT_STATUS = 200


def header_text(name: str, value: Any) -> str:
    """A rendered header value as text: strings as they are, null as empty, others as JSON.

    A value holding a line break or NUL would split or corrupt the answer's headers, so it fails.
    """
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = orjson.dumps(value).decode()
    if any(char in text for char in "\r\n\0"):
        raise NodeError(f"the value of header {name!r} holds a line break or NUL character")
    return text


class ResponseNode(NodeType):
    """Give the synchronous caller a configured status, headers and body, then end."""

    type = "response"
    sync_only = True
    terminal = True

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `statusCode` (200 to 599) and `headers`; `body` may be any JSON."""
        return check_int_range(config, "statusCode", 200, 599) + check_name_value_list(config, "headers")

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Render header values and body; the job has no result, the answer ends the execution."""
        headers = tuple(
            (entry["name"], header_text(entry["name"], ctx.render(entry.get("value"))))
            for entry in config.get("headers") or ()
        )
        body = ctx.render(config.get("body", {}))
        status = config.get("statusCode", DEFAULT_STATUS)
        answer = Answer(status_code=status, headers=headers, body=body)
        return Outcome(JobStatus.RESOLVED, ends=True, answer=answer)
