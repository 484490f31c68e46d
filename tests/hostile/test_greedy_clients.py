"""Slow and greedy clients against a live server: read timeouts, the connection limit, queue limits.

The server here waits 1 s for a request's headers (`HOOKLINE_HEADER_TIMEOUT_SECONDS`) and 1 s
for its body (`HOOKLINE_BODY_TIMEOUT_SECONDS`), and holds at most `MAX_CONNECTIONS`. A client
that stalls or trickles is answered `408` within `ANSWER_BOUND_SECONDS` (the timeout plus a wide
margin), while `/healthz` stays prompt; one connection too many is answered `503`. Before, a
half-sent request held its connection for ever. It runs no workers, so asynchronous executions
stay queued: a sender that fills the queue is answered `429 queue_full` past the default limits.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.hostile._ledger import Ledger
from tests.hostile._raw import Connection, RawAnswer, webhook
from tests.hostile._workflows import ASYNC_AND_SYNC, ASYNC_KEY, ECHO_KEY
from tests.hostile.conftest import Figures, Hostile

pytestmark = pytest.mark.slow

MAX_CONNECTIONS = 30
QUEUE_LIMIT = 3
"""The queued executions one workflow without a `queueLimit` may have."""
QUEUE_LIMIT_TOTAL = 5
"""The queued executions all workflows together may have."""
SERVER_SETTINGS = {
    "HOOKLINE_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "HOOKLINE_WORKERS": "0",
    "HOOKLINE_QUEUE_LIMIT": str(QUEUE_LIMIT),
    "HOOKLINE_QUEUE_LIMIT_TOTAL": str(QUEUE_LIMIT_TOTAL),
}

ANSWER_BOUND_SECONDS = 5.0
"""How soon a stalled client must be answered: the 1 s timeout, with room for a slow machine."""


HEAD, _, _ = webhook(ASYNC_KEY).partition(b"\r\n\r\n")
HALF_HEAD = HEAD[: len(HEAD) // 2]
"""The first half of a request's head: the request line and some of its headers."""


def half_body(key: str) -> bytes:
    """A whole head announcing 100 bytes of body, then only 10 of them."""
    return webhook(key, body=b'{"v": "' + b"x" * 90 + b'"}')[:-90]


async def test_stalled_headers_are_answered_408_while_healthz_answers(
    hostile: Hostile, figures: Figures
) -> None:
    """Ten clients stopping half way through their headers get `408 header_timeout`; /healthz stays prompt."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    async with figures.watch_healthz(hostile.port) as watch:
        answers = await asyncio.gather(
            *(hostile.send(HALF_HEAD, within=ANSWER_BOUND_SECONDS) for _ in range(10))
        )
    figures.answers(answers)
    await ledger.settle(answers)
    assert {(answer.status, answer.error_code) for answer in answers} == {(408, "header_timeout")}
    watch.assert_prompt()


async def test_trickled_headers_are_answered_408(hostile: Hostile, figures: Figures) -> None:
    """A client sending its headers one byte every 0.1 s is answered `408 header_timeout`, not waited for."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    answer = await hostile.send(webhook(ASYNC_KEY), within=ANSWER_BOUND_SECONDS, pace=0.1)
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (408, "header_timeout"), answer.describe()


@ASYNC_AND_SYNC
async def test_stalled_body_is_answered_408(hostile: Hostile, figures: Figures, key: str) -> None:
    """A client sending 10 of the 100 body bytes it announced gets `408 body_timeout`; nothing is recorded."""
    ledger = await Ledger.open(hostile, key)
    async with figures.watch_healthz(hostile.port) as watch:
        answer = await hostile.send(half_body(key), within=ANSWER_BOUND_SECONDS)
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (408, "body_timeout"), answer.describe()
    watch.assert_prompt()


async def test_trickled_body_is_answered_408(hostile: Hostile, figures: Figures) -> None:
    """A body sent one byte every 0.1 s (10 s in all) is answered `408 body_timeout` once its time is up."""
    whole = webhook(ASYNC_KEY, body=b'{"v": "' + b"x" * 90 + b'"}')
    head, _, body = whole.partition(b"\r\n\r\n")
    connection = await Connection.open(hostile.port)
    try:
        connection.send(head + b"\r\n\r\n")
        connection.send(body, pace=0.1)
        answer = await connection.answer(within=ANSWER_BOUND_SECONDS)
    finally:
        await connection.close()
    figures.answers([answer])
    assert (answer.status, answer.error_code) == (408, "body_timeout"), answer.describe()


async def test_one_connection_past_the_limit_is_answered_503(hostile: Hostile, figures: Figures) -> None:
    """With the limit of connections open, one more is answered `503 too_many_connections`.

    Once the held ones are answered and closed, a request is accepted again.
    """
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    held = [await Connection.open(hostile.port) for _ in range(MAX_CONNECTIONS)]
    try:
        for connection in held:
            connection.send(HALF_HEAD)
        refused = await hostile.send(webhook(ASYNC_KEY), within=ANSWER_BOUND_SECONDS)
        timed_out = await asyncio.gather(*(c.answer(within=ANSWER_BOUND_SECONDS) for c in held))
    finally:
        for connection in held:
            await connection.close()
    accepted = await hostile.send(webhook(ASYNC_KEY))
    figures.answers([refused])
    await ledger.settle([refused, *timed_out, accepted])
    assert (refused.status, refused.error_code) == (503, "too_many_connections"), refused.describe()
    assert {(answer.status, answer.error_code) for answer in timed_out} == {(408, "header_timeout")}
    assert accepted.status == 200, accepted.describe()


async def test_queue_limits_answer_429_past_them(hostile: Hostile, figures: Figures) -> None:
    """A queue stops at the default `queueLimit`, all queues at the total: `429 queue_full`, none recorded."""
    echo, plain = await Ledger.open(hostile, ECHO_KEY), await Ledger.open(hostile, ASYNC_KEY)
    echoed = [await hostile.send(webhook(ECHO_KEY, body=b'{"v": "1"}')) for _ in range(QUEUE_LIMIT + 1)]
    # The rest of the total is less than one workflow's limit: the total refuses these.
    room = QUEUE_LIMIT_TOTAL - QUEUE_LIMIT - len(plain.before)
    plain_answers = [await hostile.send(webhook(ASYNC_KEY)) for _ in range(room + 2)]
    figures.answers(echoed + plain_answers)
    await echo.settle(echoed)
    await plain.settle(plain_answers)
    # A limit is never passed. An execution stored while the server counts its queue may count twice
    # until the next count (one at most here, the requests going one at a time), so the refusals may
    # begin one place early: that is the documented slack, on the safe side.
    assert _accepted_then_refused(echoed, 202, QUEUE_LIMIT)
    assert _accepted_then_refused(plain_answers, 200, room)
    refused = [answer for answer in echoed + plain_answers if answer.status == 429]
    assert {answer.error_code for answer in refused} == {"queue_full"}
    assert all(int(answer.header("retry-after") or 0) >= 1 for answer in refused)


def _accepted_then_refused(answers: list[RawAnswer], accepted: int, limit: int) -> bool:
    """Whether `answers` are some acceptances (`accepted`), `limit` or one fewer, then only 429s."""
    statuses = [answer.status for answer in answers]
    taken = statuses.index(429) if 429 in statuses else len(statuses)
    return (
        # `<=`: with a limit of one, the slack may leave no acceptance at all before the 429s.
        limit - 1 <= taken <= limit and set(statuses[:taken]) <= {accepted} and set(statuses[taken:]) == {429}
    )
