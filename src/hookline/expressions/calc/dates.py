"""The date functions: dates are read from ISO 8601 text or epoch milliseconds, and given back as
ISO 8601 text in UTC with milliseconds (`2026-01-31T09:30:00.000Z`), as JavaScript's `toISOString`.

A date without a zone is read as UTC (the server's clock zone is no part of a workflow's meaning).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hookline.expressions.calc.functions import Call, Function
from hookline.expressions.calc.values import is_number, text

_UNITS = {
    "milliseconds": timedelta(milliseconds=1),
    "seconds": timedelta(seconds=1),
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}
_MONTHS = {"months": 1, "quarters": 3, "years": 12}
UNITS = (*_UNITS, *_MONTHS)
"""The units DATEADD and DATEDIFF take (the singular, `day`, works too)."""


def iso(when: datetime) -> str:
    """A UTC moment as JavaScript's `toISOString` writes it."""
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def moment(call: Call, value: Any) -> datetime:
    """A date argument (ISO 8601 text or epoch milliseconds) in UTC; anything else is an error."""
    if is_number(value):
        try:
            return datetime.fromtimestamp(float(value) / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            raise call.error(f"{text(value)} is not a date within the years 1 to 9999") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise call.error(f"needs a date such as 2026-01-31T09:30:00Z, got {value[:40]!r}") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise call.error(f"{value[:40]!r} is not a date within the years 1 to 9999") from None
    raise call.error(f"needs a date (ISO 8601 text or epoch milliseconds), got {text(value)[:40]}")


def _unit(call: Call, value: Any) -> str:
    name = text(value).strip().lower()
    name = name if name.endswith("s") else f"{name}s"
    if name not in UNITS:
        raise call.error(f"unknown unit {text(value)[:20]!r}; use one of {', '.join(UNITS)}")
    return name


def _add_months(call: Call, start: datetime, months: int) -> datetime:
    """`start` moved by whole months, the day kept within the month (Jan 31 + 1 month = Feb 28)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise call.error("the date would be outside the years 1 to 9999")
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


def _date(call: Call, arguments: list[Any]) -> str:
    """DATE(year, month, day): months and days beyond their range carry over, as in Excel."""
    year, month, day = (call.whole(argument) for argument in arguments)
    if not 1 <= year <= 9999:
        raise call.error("the year must be from 1 to 9999")
    start = _add_months(call, datetime(year, 1, 1, tzinfo=UTC), month - 1)
    return iso(_shift(call, start, timedelta(days=1), day - 1))


def _shift(call: Call, start: datetime, step: timedelta, count: float) -> datetime:
    try:
        return start + step * count
    except (OverflowError, ValueError):
        raise call.error("the date would be outside the years 1 to 9999") from None


def _date_add(call: Call, arguments: list[Any]) -> str:
    """DATEADD(date, amount, unit)."""
    start, amount, unit = moment(call, arguments[0]), call.number(arguments[1]), _unit(call, arguments[2])
    if not math.isfinite(amount):
        raise call.error("the amount must be a finite number")
    if unit in _MONTHS:
        return iso(_add_months(call, start, int(amount) * _MONTHS[unit]))
    return iso(_shift(call, start, _UNITS[unit], amount))


def _months_between(start: datetime, end: datetime) -> int:
    """Whole months from `start` to `end`, truncated toward zero."""
    months = (end.year - start.year) * 12 + end.month - start.month
    moved_day = min(start.day, calendar.monthrange(end.year, end.month)[1])
    anchor = start.replace(year=end.year, month=end.month, day=moved_day)
    if months > 0 and anchor > end:
        months -= 1
    elif months < 0 and anchor < end:
        months += 1
    return months


def _date_diff(call: Call, arguments: list[Any]) -> int:
    """DATEDIFF(start, end, unit): whole units from start to end (negative when end is earlier)."""
    start, end = moment(call, arguments[0]), moment(call, arguments[1])
    unit = _unit(call, arguments[2]) if len(arguments) > 2 else "days"
    if unit in _MONTHS:
        return int(_months_between(start, end) / _MONTHS[unit])
    return int((end - start) / _UNITS[unit])


def _days(call: Call, arguments: list[Any]) -> int:
    """DAYS(end, start): calendar days between the two dates, as Excel."""
    end, start = moment(call, arguments[0]), moment(call, arguments[1])
    return (end.date() - start.date()).days


def _part(name: str) -> Function:
    return Function(lambda call, a: getattr(moment(call, a[0]), name), 1, 1)


def _weekday(call: Call, arguments: list[Any]) -> int:
    """WEEKDAY(date): 1 for Sunday to 7 for Saturday, as Excel."""
    return (moment(call, arguments[0]).weekday() + 1) % 7 + 1


def _today(call: Call, arguments: list[Any]) -> str:
    return iso(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))


DATES: Mapping[str, Function] = {
    "NOW": Function(lambda call, a: iso(datetime.now(UTC)), 0, 0, pure=False),
    "TODAY": Function(_today, 0, 0, pure=False),
    "DATE": Function(_date, 3, 3),
    "YEAR": _part("year"),
    "MONTH": _part("month"),
    "DAY": _part("day"),
    "HOUR": _part("hour"),
    "MINUTE": _part("minute"),
    "SECOND": _part("second"),
    "WEEKDAY": Function(_weekday, 1, 1),
    "DATEADD": Function(_date_add, 3, 3),
    "DATEDIFF": Function(_date_diff, 2, 3),
    "DAYS": Function(_days, 2, 2),
    "TIMESTAMP": Function(lambda call, a: moment(call, a[0]).timestamp() * 1000, 1, 1),
}
"""The date functions, by upper-case name."""
