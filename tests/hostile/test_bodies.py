"""Hostile JSON bodies and queries against a live server: deep nesting, NUL characters, huge integers.

Each parses but cannot be stored as it came: the review saw `500 internal_error` for nesting of
254 to 1,024 levels and, on PostgreSQL, for NUL, and integers beyond 64 bits silently became
floats. Each must be refused with a `400` and its own code before anything is recorded, on both
databases; what is accepted is recorded exactly as sent.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.hostile._ledger import Ledger
from tests.hostile._raw import webhook
from tests.hostile._workflows import ASYNC_AND_SYNC, ASYNC_KEY
from tests.hostile.conftest import Figures, Hostile

pytestmark = pytest.mark.slow


DEPTH_LIMIT = 64
"""The default `HOOKLINE_JSON_DEPTH_LIMIT`."""


def nested(depth: int) -> bytes:
    """A JSON document of `depth` arrays, one inside the other."""
    return b"[" * depth + b"]" * depth


@ASYNC_AND_SYNC
@pytest.mark.parametrize("depth", [100, 254, 300, 1024, 5000])
async def test_json_nested_deeper_than_the_limit_is_refused(
    hostile: Hostile, figures: Figures, key: str, depth: int
) -> None:
    """A body nested deeper than 64 levels answers `400 json_too_deep` and records nothing."""
    ledger = await Ledger.open(hostile, key)
    answer = await hostile.send(webhook(key, body=nested(depth)))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (400, "json_too_deep"), answer.describe()


@ASYNC_AND_SYNC
async def test_json_nested_as_deep_as_the_limit_is_recorded(hostile: Hostile, key: str) -> None:
    """A body nested exactly 64 levels deep is accepted and recorded as sent."""
    ledger = await Ledger.open(hostile, key)
    answer = await hostile.send(webhook(key, body=nested(DEPTH_LIMIT)))
    (execution,) = (await ledger.settle([answer])).values()
    assert answer.status == 200, answer.describe()
    assert json.dumps(execution["context"]["body"], separators=(",", ":")).encode() == nested(DEPTH_LIMIT)


@ASYNC_AND_SYNC
async def test_nul_in_a_json_body_is_refused(hostile: Hostile, figures: Figures, key: str) -> None:
    """`{"note": "a\\u0000b"}` answers `400 nul_character` (not 500) and records nothing."""
    ledger = await Ledger.open(hostile, key)
    answer = await hostile.send(webhook(key, body=rb'{"note": "a\u0000b"}'))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (400, "nul_character"), answer.describe()


@ASYNC_AND_SYNC
async def test_nul_in_the_query_is_refused(hostile: Hostile, figures: Figures, key: str) -> None:
    """`?v=a%00b` answers `400 nul_character` (not 500) and records nothing."""
    ledger = await Ledger.open(hostile, key)
    answer = await hostile.send(webhook(key, query="v=a%00b"))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (400, "nul_character"), answer.describe()


async def test_nul_requests_do_not_disturb_concurrent_ones(hostile: Hostile, figures: Figures) -> None:
    """Ten NUL bodies among thirty ordinary requests at once: NULs get 400, the others 200 and a record."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    bodies = [rb'{"note": "a\u0000b"}' if n % 4 == 0 else b'{"note": "fine"}' for n in range(40)]
    answers = await asyncio.gather(*(hostile.send(webhook(ASYNC_KEY, body=body)) for body in bodies))
    figures.answers(answers)
    recorded = await ledger.settle(answers)
    assert [answer.status for answer in answers] == [400 if b"u0000" in body else 200 for body in bodies]
    assert all(execution["context"]["body"] == {"note": "fine"} for execution in recorded.values())


@ASYNC_AND_SYNC
@pytest.mark.parametrize("number", [b"18446744073709551616", b"-9223372036854775809", b"1" + b"0" * 40])
async def test_integers_beyond_64_bits_are_refused(
    hostile: Hostile, figures: Figures, key: str, number: bytes
) -> None:
    """An integer outside the 64-bit range answers `400 number_out_of_range` rather than becoming a float."""
    ledger = await Ledger.open(hostile, key)
    answer = await hostile.send(webhook(key, body=b'{"n": ' + number + b"}"))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (400, "number_out_of_range"), answer.describe()


@pytest.mark.parametrize("number", [2**64 - 1, -(2**63)])
async def test_integers_at_the_ends_of_the_range_are_kept_exact(hostile: Hostile, number: int) -> None:
    """The largest and smallest integers accepted are recorded exactly, digit for digit."""
    ledger = await Ledger.open(hostile, ASYNC_KEY)
    answer = await hostile.send(webhook(ASYNC_KEY, body=b'{"n": %d}' % number))
    (execution,) = (await ledger.settle([answer])).values()
    assert answer.status == 200, answer.describe()
    assert execution["context"]["body"] == {"n": number}
