"""How `hookline execution show` describes a job's runtime meta: loop item, attempts, wait."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.cli.output import execution_detail, job_notes


@pytest.mark.parametrize(
    ("meta", "notes"),
    [
        ({}, []),
        ({"attempt": 1}, []),
        ({"attempt": 3}, ["3 attempts"]),
        ({"iteration": "loop#0/"}, ["loop item 1"]),
        ({"iteration": "outer#1/inner#4/", "attempt": 2}, ["inner item 5", "2 attempts"]),
        (
            {"attempt": 2, "waitingUntil": "2026-12-03T17:00:00+00:00", "waitReason": "retry"},
            ["2 attempts", "waiting until 2026-12-03T17:00:00+00:00 (retry)"],
        ),
        (
            {"waitingUntil": "2026-12-03T17:00:00+00:00", "waitReason": "delay"},
            ["waiting until 2026-12-03T17:00:00+00:00 (delay)"],
        ),
        (
            {"waitingUntil": "2026-12-03T17:00:00+00:00", "waitReason": "event"},
            ["waiting for another execution to end (next check 2026-12-03T17:00:00+00:00)"],
        ),
    ],
)
def test_job_notes(meta: dict[str, Any], notes: list[str]) -> None:
    """Each piece of meta becomes a short note; nothing for a plain job."""
    assert job_notes(meta) == notes


def test_the_detail_shows_the_notes_before_the_result() -> None:
    """A retried job inside a loop reads `[loop item 2] [3 attempts] {...}`."""
    job = {
        "node_key": "post",
        "status": "resolved",
        "result": {"status": 200},
        "meta": {"iteration": "loop#1/", "attempt": 3},
    }
    data = {
        "id": "1",
        "key": "orders",
        "status": "resolved",
        "attempt": 1,
        "created_at": "2026-12-03T16:00:00+00:00",
        "finished_at": "2026-12-03T16:00:01+00:00",
        "error": None,
        "context": {},
        "response": None,
        "jobs": [job],
    }
    assert (
        execution_detail(data).splitlines()[-1]
        == '  post                 resolved  [loop item 2] [3 attempts] {"status":200}'
    )
