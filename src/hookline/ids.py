"""Identifiers: time-ordered 63-bit snowflake ids and the random webhook keys."""

from __future__ import annotations

import secrets
import threading
import time

_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z; ids stay positive 63-bit for ~69 years
_INSTANCE_BITS = 10
_SEQUENCE_BITS = 12
_KEY_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class SnowflakeIds:
    """Makes unique, increasing integer ids: milliseconds, an instance number, a sequence."""

    def __init__(self, instance: int | None = None) -> None:
        # A random instance number keeps processes apart without coordination.
        self.instance = secrets.randbelow(1 << _INSTANCE_BITS) if instance is None else instance
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def next(self) -> int:
        """A new id, larger than every id this generator gave before."""
        with self._lock:
            now = max(int(time.time() * 1000) - _EPOCH_MS, self._last_ms)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & ((1 << _SEQUENCE_BITS) - 1)
                if self._sequence == 0:
                    now += 1  # borrow the next millisecond instead of sleeping
            else:
                self._sequence = 0
            self._last_ms = now
            return (
                (now << (_INSTANCE_BITS + _SEQUENCE_BITS))
                | (self.instance << _SEQUENCE_BITS)
                | self._sequence
            )


_default = SnowflakeIds()


def new_id() -> int:
    """A new snowflake id from this process's generator."""
    return _default.next()


def instance_id() -> int:
    """This process's instance number inside its snowflake ids."""
    return _default.instance


def new_webhook_key(length: int = 12) -> str:
    """A webhook key: `length` (at least 11) characters of [0-9a-z] from a cryptographic source."""
    if length < 11:
        raise ValueError("webhook keys have at least 11 characters")
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length))
