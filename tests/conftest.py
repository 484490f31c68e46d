"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import settings

# No time limit per generated example: a busy machine (CI, parallel runs) made a 200 ms deadline
# fail examples that take 0.2 ms when rerun. Speed is measured by the benchmarks, never by tests.
settings.register_profile("hookline", deadline=None)
settings.load_profile("hookline")
