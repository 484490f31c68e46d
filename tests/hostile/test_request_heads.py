"""Hostile request heads against a live server: header floods, too many headers, long URLs, query bombs.

Each is answered at once with its limit's status and code (README, "Limits on what a client may
send"), records nothing unless answered `2xx`, and never makes `/healthz` wait as long as
`HEALTHZ_BOUND_SECONDS` (1.5 s) meanwhile: the review measured 6.3 s behind one header flood
and more than 30 s behind twenty query bombs.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.hostile._ledger import Ledger
from tests.hostile._raw import WEBHOOK_PATH, webhook
from tests.hostile._workflows import ASYNC_AND_SYNC, ASYNC_KEY
from tests.hostile.conftest import Figures, Hostile

pytestmark = pytest.mark.slow


BASE_HEADER_LINES = 4
"""The lines every request of `_raw.request` has: Host, Content-Length, Connection, Content-Type."""

HEADER_REFUSALS = {"headers_too_large", "too_many_headers"}

URL_LIMIT = 8 * 1024
"""The default `HOOKLINE_URL_LIMIT`: the longest request target accepted."""


def numbered_headers(count: int) -> list[tuple[str, str]]:
    """`count` distinct small headers."""
    return [(f"X-N{n}", "1") for n in range(count)]


@ASYNC_AND_SYNC
async def test_header_flood_is_refused_at_once_while_healthz_answers(
    hostile: Hostile, figures: Figures, key: str
) -> None:
    """60,000 repeated `X-A: <100 bytes>` lines (6 MB) answer 431, record nothing; /healthz stays prompt."""
    flood = [("X-A", "a" * 100)] * 60_000
    ledger = await Ledger.open(hostile, key)
    async with figures.watch_healthz(hostile.port) as watch:
        answer = await hostile.send(webhook(key, headers=flood))
    figures.answers([answer])
    await ledger.settle([answer])
    assert answer.status == 431, answer.describe()
    assert answer.error_code in HEADER_REFUSALS
    watch.assert_prompt()


async def test_one_header_line_more_than_the_limit_is_refused(hostile: Hostile, figures: Figures) -> None:
    """101 header lines (the limit is 100) answer `431 too_many_headers` and record nothing."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    answer = await hostile.send(webhook(ASYNC_KEY, headers=numbered_headers(101 - BASE_HEADER_LINES)))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (431, "too_many_headers"), answer.describe()


async def test_as_many_header_lines_as_the_limit_are_accepted(hostile: Hostile) -> None:
    """Exactly 100 header lines are accepted and recorded once."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    answer = await hostile.send(webhook(ASYNC_KEY, headers=numbered_headers(100 - BASE_HEADER_LINES)))
    await ledger.settle([answer])
    assert answer.status == 200, answer.describe()


async def test_one_enormous_header_is_refused(hostile: Hostile, figures: Figures) -> None:
    """A single 40,000-byte header (the limit is 32 KiB of headers) answers `431 headers_too_large`."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    answer = await hostile.send(webhook(ASYNC_KEY, headers=[("X-Big", "b" * 40_000)]))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (431, "headers_too_large"), answer.describe()


@ASYNC_AND_SYNC
async def test_url_longer_than_8_kib_is_refused(hostile: Hostile, figures: Figures, key: str) -> None:
    """A request target of more than 8 KiB answers `414 url_too_long` and records nothing."""
    ledger = await Ledger.open(hostile, key)
    answer = await hostile.send(webhook(key, query="x=" + "a" * 9_000))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (414, "url_too_long"), answer.describe()


async def test_more_query_parameters_than_the_limit_are_refused(hostile: Hostile, figures: Figures) -> None:
    """1,001 `name=value` pairs (4 KB, within the URL limit) answer `414 too_many_query_parameters`."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    answer = await hostile.send(webhook(ASYNC_KEY, query="&".join(["a=1"] * 1_001)))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (414, "too_many_query_parameters"), answer.describe()


@ASYNC_AND_SYNC
@pytest.mark.parametrize("pairs", [1_000, 900], ids=["9kb", "8kb"])
async def test_twenty_concurrent_query_bombs_leave_healthz_prompt(
    hostile: Hostile, figures: Figures, key: str, pairs: int
) -> None:
    """20 requests at once with `a[b][]=v` repeated get 2xx (414 past the URL limit); /healthz stays prompt.

    900 pairs (8.1 KB) fit the default URL limit of 8 KiB, so they must be parsed cheaply, not refused.
    """
    query = "&".join(["a[b][]=v"] * pairs)
    ledger = await Ledger.open(hostile, key)
    async with figures.watch_healthz(hostile.port) as watch:
        answers = await asyncio.gather(
            *(hostile.send(webhook(key, query=query), within=120) for _ in range(20))
        )
    figures.answers(answers)
    await ledger.settle(answers)
    target = f"{WEBHOOK_PATH}{key}?{query}"
    allowed = {200} if len(target) <= URL_LIMIT else {200, 414}
    assert {answer.status for answer in answers} <= allowed, [answer.describe() for answer in answers]
    watch.assert_prompt()
