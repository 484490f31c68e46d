"""The response node: answer a synchronous webhook caller and end the execution."""

from __future__ import annotations

from hookline.errors import NodeError, Problem
from hookline.models import JobStatus
from hookline.nodes._config import check_int_range, check_name_value_list
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.trigger.fields import Unsendable
from hookline.trigger.responses import sendable
from hookline.types import JsonObject

DEFAULT_STATUS = 200


class ResponseNode(NodeType):
    """Give the synchronous caller a configured status, headers and body, then end."""

    type = "response"
    sync_only = True
    terminal = True

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `statusCode` (200 to 599) and `headers`; `body` may be any JSON."""
        return check_int_range(config, "statusCode", 200, 599) + check_name_value_list(config, "headers")

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Render and encode the answer; the job has no result, the answer ends the execution.

        An answer HTTP cannot carry (a control character in a header value, say) fails the node
        here, so the execution is recorded as the error it is and the caller is told so.
        """
        headers = ((entry["name"], ctx.render(entry.get("value"))) for entry in config.get("headers") or ())
        status = config.get("statusCode", DEFAULT_STATUS)
        try:
            answer = sendable(status, headers, ctx.render(config.get("body", {})))
        except Unsendable as error:
            raise NodeError(f"The answer cannot be sent: {error}.") from None
        return Outcome(JobStatus.RESOLVED, ends=True, answer=answer)
