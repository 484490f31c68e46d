"""The request node: an outbound HTTP call, retried by its policy, its waits durable in async workflows."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hookline.errors import Problem
from hookline.models import Job, JobStatus
from hookline.nodes._request_call import CallError, CallFailed, prepare, send
from hookline.nodes._request_config import RequestOptions, check_request
from hookline.nodes._retry_policy import retry_after_seconds
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.types import JsonObject, JsonValue


class RequestNode(NodeType):
    """Send an HTTP request; the result is `{status, statusText, headers, data}` (or `data` alone).

    Every attempt carries the same `Idempotency-Key: <execution id>-<step key>` (the node key, and
    the loop item inside a loop): a crash between sending and recording makes the call happen
    again (at least once), and the key lets the receiver drop the repeat. Between attempts the node
    returns `Outcome.later` with the attempts so far as its state, so an asynchronous execution
    waits without holding a worker.
    """

    type = "request"

    def __init__(self, draw: Callable[[], float] = random.random) -> None:
        self._draw = draw
        """The jitter's uniform draw in [0, 1): replaceable so that tests can pin it."""

    def check(self, config: JsonObject) -> list[Problem]:
        """The problems of each field: url, method, contentType, headers, params, data, retry, …"""
        return check_request(config)

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        """One attempt: resolved on a 2xx, else failed, or called again later if the policy says so."""
        options = RequestOptions.from_config(config)
        attempts = _attempts_so_far(ctx.previous)
        try:
            call = prepare(config, options, ctx.render, f"{ctx.execution_id}-{ctx.step_key}")
        except CallError as error:
            return _failed(options, {"message": str(error)}, {})
        seconds = _time_left(options.timeout_ms / 1000, ctx.deadline)
        if seconds <= 0:
            message = "no time was left before the synchronous workflow's timeout to send the request"
            return _failed(options, {"message": message}, {"request": call.record, "attempts": attempts})
        retry_after: str | None = None
        try:
            received = await send(ctx.resources.http, call, seconds, options.max_response_bytes)
        except CallFailed as failure:
            attempts.append({"error": failure.message})
            result: JsonObject = {"message": failure.message}
            retryable = failure.network and options.retry.on_network_error
        else:
            attempts.append({"status": received.status})
            if 200 <= received.status < 300:
                data = received.result["data"] if options.only_data else received.result
                return Outcome(JobStatus.RESOLVED, data, meta={"request": call.record, "attempts": attempts})
            result = {**received.result, "message": _status_message(received.result)}
            retryable = received.status in options.retry.on_status
            retry_after = received.retry_after
        meta: JsonObject = {"request": call.record, "attempts": attempts}
        ctx.log.info("request attempt %d failed: %s", len(attempts), result["message"])
        if not retryable or len(attempts) >= options.retry.attempts:
            return _failed(options, _after(result, len(attempts)), meta)
        delay = options.retry.delay_seconds(len(attempts), self._draw(), retry_after_seconds(retry_after))
        if ctx.workflow.sync and ctx.deadline is not None and time.monotonic() + delay > ctx.deadline:
            late = f"the next attempt (in {delay:.1f} s) would come after the synchronous workflow's timeout"
            return _failed(options, {**result, "message": f"{result['message']}; {late}"}, meta)
        until = datetime.now(UTC) + timedelta(seconds=delay)
        return Outcome.later(until, {**meta, "last": result, "nextAttemptAt": until.isoformat()})


def _attempts_so_far(previous: Job | None) -> list[JsonValue]:
    """The attempts recorded in the pending job's state when the node is called again after a wait."""
    state = previous.result if previous is not None and previous.status is JobStatus.PENDING else None
    attempts = state.get("attempts") if isinstance(state, dict) else None
    return list(attempts) if isinstance(attempts, list) else []


def _time_left(seconds: float, deadline: float | None) -> float:
    """The node's timeout, cut to what is left before the execution's deadline."""
    return seconds if deadline is None else min(seconds, deadline - time.monotonic())


def _status_message(result: JsonObject) -> str:
    return f"the server answered {result['status']} {result['statusText']}".rstrip()


def _after(result: JsonObject, attempts: int) -> JsonObject:
    if attempts < 2:
        return result
    return {**result, "message": f"{result['message']} (after {attempts} attempts)"}


def _failed(options: RequestOptions, result: JsonObject, meta: JsonObject) -> Outcome:
    """A failed job, or a resolved one with the same result under `ignoreFail`."""
    status = JobStatus.RESOLVED if options.ignore_fail else JobStatus.FAILED
    return Outcome(status, result, meta=meta)
