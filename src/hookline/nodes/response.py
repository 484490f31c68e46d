"""The response node: answer a synchronous webhook caller and end the execution, or go on in the background.

With `continue: true` the caller is answered at once and the rest of the workflow runs on as an
asynchronous execution would: the engine records the execution, queued with the jobs it has so
far, before the answer is sent, and a worker resumes it after the response node.
"""

from __future__ import annotations

from hookline.answers import sendable
from hookline.errors import NodeError, Problem
from hookline.header_fields import Unsendable
from hookline.models import JobStatus
from hookline.nodes._config import check_bool, check_int_range, check_name_value_list
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject

DEFAULT_STATUS = 200


class ResponseNode(NodeType):
    """Give the synchronous caller a configured status, headers and body, then end (or go on)."""

    type = "response"
    outside_effects = False
    sync_only = True
    terminal = True
    """Without `continue` (see `ends_flow`), nothing may follow a response node."""

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems with `statusCode` (200 to 599), `headers` and `continue`; `body` may be any JSON."""
        return (
            check_int_range(config, "statusCode", 200, 599)
            + check_name_value_list(config, "headers")
            + check_bool(config, "continue")
        )

    def ends_flow(self, config: JsonObject) -> bool:
        """A response ends the execution unless it lets the workflow `continue` in the background."""
        return not config.get("continue")

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """Render and encode the answer; the job has no result, the answer ends the execution (or not).

        An answer HTTP cannot carry (a control character in a header value, say) fails the node
        here, so the execution is recorded as the error it is and the caller is told so.
        """
        headers = ((entry["name"], ctx.render(entry.get("value"))) for entry in config.get("headers") or ())
        status = config.get("statusCode", DEFAULT_STATUS)
        try:
            answer = sendable(status, headers, ctx.render(config.get("body", {})))
        except Unsendable as error:
            raise NodeError(f"The answer cannot be sent: {error}.") from None
        return Outcome(JobStatus.RESOLVED, ends=self.ends_flow(config), answer=answer)
