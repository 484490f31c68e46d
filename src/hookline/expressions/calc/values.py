"""What the operators do to values, with JavaScript's rules, and the limits every value keeps to.

Values are JSON values. Numbers are IEEE doubles as in JavaScript (`1/0` is Infinity, `0/0` NaN),
with one exception that keeps a calculation's cost bounded: an operation on finite numbers whose
result would overflow the double range (`9 ** 9 ** 9`) is an error rather than Infinity.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Mapping
from typing import Any

from hookline.expressions.calc.errors import ExpressionError
from hookline.expressions.calculators import js_number, js_string

MAX_TEXT = 100_000
"""The longest text an expression may build, in characters."""
MAX_STEPS = 100_000
"""How many steps one evaluation may take: one per operation, one per list item a function reads."""
_ROUNDING_DIGITS = 9
"""A numeric result is rounded to 9 decimals, as NocoBase does (so 100 * 2.3 gives 230)."""
_SAFE_INTEGER = 2**53
codecs.lookup("utf-16-be")  # text comparisons use it; loaded now so a calculation never imports


def is_number(value: Any) -> bool:
    """Whether a value is a number (booleans are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_list(value: Any) -> bool:
    """Whether a value is a list."""
    return isinstance(value, list | tuple)


def truthy(value: Any) -> bool:
    """JavaScript's truthiness: null, false, 0, NaN and "" are false; lists and objects are true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def number(value: Any) -> float:
    """JavaScript's `Number(value)` (NaN when the value is not numeric)."""
    return js_number(value)


def text(value: Any) -> str:
    """JavaScript's `String(value)`, numbers written as JavaScript writes them."""
    return js_string(value)


def built(value: str, position: int) -> str:
    """A text the expression built, refused when it is longer than MAX_TEXT."""
    if len(value) > MAX_TEXT:
        raise ExpressionError(f"the text would be longer than {MAX_TEXT} characters", position)
    return value


def joined(parts: list[str], position: int, separator: str = "") -> str:
    """The parts joined, refused before the text is made when it would be longer than MAX_TEXT."""
    size = sum(len(part) for part in parts) + len(separator) * max(0, len(parts) - 1)
    if size > MAX_TEXT:
        raise ExpressionError(f"the text would be longer than {MAX_TEXT} characters", position)
    return separator.join(parts)


def finite(result: float, operands: tuple[float, ...], position: int) -> float:
    """`result`, unless finite operands overflowed into Infinity: that is an error here."""
    if math.isinf(result) and all(math.isfinite(operand) for operand in operands):
        raise ExpressionError("the number is too large (beyond ±1.8e308)", position)
    return result


def add(left: Any, right: Any, *, joins_text: bool, position: int) -> Any:
    """`+`: with `joins_text` (JavaScript) text joins text; otherwise both sides must be numbers."""
    if joins_text:
        left, right = _primitive(left), _primitive(right)
        if isinstance(left, str) or isinstance(right, str):
            return joined([text(left), text(right)], position)
    else:
        for side in (left, right):
            if (
                is_list(side)
                or isinstance(side, Mapping)
                or (isinstance(side, str) and math.isnan(number(side)))
            ):
                raise ExpressionError(
                    f"+ adds numbers; to join texts use concat(), got {text(side)[:40]!r}", position
                )
    a, b = number(left), number(right)
    return finite(a + b, (a, b), position)


def _primitive(value: Any) -> Any:
    """Lists and objects as JavaScript turns them into text before `+`."""
    return text(value) if is_list(value) or isinstance(value, Mapping) else value


def subtract(left: Any, right: Any, position: int) -> float:
    """`-` on the numbers of both sides."""
    a, b = number(left), number(right)
    return finite(a - b, (a, b), position)


def multiply(left: Any, right: Any, position: int) -> float:
    """`*` on the numbers of both sides."""
    a, b = number(left), number(right)
    return finite(a * b, (a, b), position)


def divide(left: Any, right: Any) -> float:
    """`/` as in JavaScript: dividing by zero gives ±Infinity, or NaN for 0/0."""
    a, b = number(left), number(right)
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def remainder(left: Any, right: Any) -> float:
    """JavaScript's `%`: the sign of the dividend; x % 0 is NaN."""
    try:
        return math.fmod(number(left), number(right))
    except ValueError:
        return math.nan


def modulo(left: Any, right: Any) -> float:
    """math.js's `mod`: the sign of the divisor; mod(x, 0) is x."""
    a, b = number(left), number(right)
    if b == 0:
        return a
    try:
        result = math.fmod(a, b)
    except ValueError:
        return math.nan
    return result + b if result != 0 and (result < 0) != (b < 0) else result


def power(left: Any, right: Any, position: int) -> float:
    """`**` (`^` in math.js) with JavaScript's special cases; an overflow is an error."""
    base, exponent = number(left), number(right)
    if math.isnan(exponent):
        return math.nan
    if exponent == 0:
        return 1.0
    if abs(base) == 1 and math.isinf(exponent):
        return math.nan
    try:
        return math.pow(base, exponent)
    except OverflowError:
        raise ExpressionError("the power is too large (beyond ±1.8e308)", position) from None
    except ValueError:  # 0 to a negative power, or a negative base to a fractional one
        if base == 0:
            odd = exponent.is_integer() and exponent % 2 == 1
            return -math.inf if odd and math.copysign(1.0, base) < 0 else math.inf
        return math.nan


def negate(value: Any) -> float:
    """Unary `-`."""
    return -number(value)


def strict_equal(left: Any, right: Any) -> bool:
    """JavaScript's `===`: same type and value; lists and objects only when they are the same one."""
    if is_number(left) and is_number(right):
        return number(left) == number(right)
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return left is right  # null only equals null; a list or an object only itself


def result_value(value: Any) -> Any:
    """A value as a calculation's JSON result: numbers rounded to 9 decimals, whole ones as integers.

    Infinity and NaN become null, as in NocoBase (JSON has no such numbers).
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = round(value, _ROUNDING_DIGITS)
        return int(rounded) if rounded.is_integer() and abs(rounded) <= _SAFE_INTEGER else rounded
    if is_list(value):
        return [result_value(item) for item in value]
    if isinstance(value, Mapping):
        return {key: result_value(item) for key, item in value.items()}
    return value
