"""ThrottledLog: at most one warning per kind per period, counting the ones left out."""

from __future__ import annotations

import logging

import pytest

from hookline.api.errors import ThrottledLog


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_repeats_within_the_period_are_counted_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A burst logs one line; the next line after the period says how many it left out."""
    clock = Clock()
    throttled = ThrottledLog(every=5.0, clock=clock)
    with caplog.at_level(logging.WARNING):
        for _ in range(1000):
            throttled.warning("503 storage_unavailable", "answered %s", 503)
        clock.now += 5.0
        throttled.warning("503 storage_unavailable", "answered %s", 503)
    assert [r.getMessage() for r in caplog.records] == [
        "answered 503",
        "answered 503 (and 999 more like it in the last 5 s)",
    ]


def test_each_kind_has_its_own_period(caplog: pytest.LogCaptureFixture) -> None:
    """A different kind of error is logged even while another kind is being held back."""
    throttled = ThrottledLog(every=5.0, clock=Clock())
    with caplog.at_level(logging.WARNING):
        throttled.warning("503 storage_unavailable", "first")
        throttled.warning("503 storage_unavailable", "held back")
        throttled.warning("500 internal_error", "second")
    assert [r.getMessage() for r in caplog.records] == ["first", "second"]
