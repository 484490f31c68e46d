"""What the signature tests share about webhook senders: Standard Webhooks secrets, slack_sdk's clock."""

from __future__ import annotations

from base64 import b64encode

from slack_sdk.signature import Clock


class FixedClock(Clock):
    """A clock for slack_sdk that says it is `now`."""

    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> float:
        """The fixed time."""
        return self._now


def whsec(key: bytes) -> str:
    """A Standard Webhooks secret for these key bytes."""
    return "whsec_" + b64encode(key).decode()
