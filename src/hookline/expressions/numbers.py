"""Numbers as JavaScript writes them: the one formatter that templates and calculators share.

Workflows come from NocoBase, whose templates and conditions are JavaScript: `{{ 1.0 }}` must read
"1", `1e21` "1e+21", and a comparison of a number with text must see the same text.
"""

from __future__ import annotations

import math
from decimal import Decimal


def as_double(number: int | float) -> float:
    """A Python number as the IEEE double JavaScript would hold."""
    try:
        return float(number)
    except OverflowError:  # ints beyond the double range
        return math.inf if number > 0 else -math.inf


def js_number_text(number: int | float) -> str:
    """A number as JavaScript's `String(number)` writes it (`1`, `1.5`, `1e+21`, `NaN`)."""
    value = as_double(number)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    point = int(exponent) + len(digit_tuple)  # the decimal point sits after `point` digits
    return sign + _place_point(digits, point)


def _place_point(digits: str, point: int) -> str:
    """Shortest digits with the decimal point placed by ECMAScript's Number::toString rules."""
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return f"{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    power = point - 1
    mantissa = digits if count == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"
