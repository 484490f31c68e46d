"""The math, logic and text functions a calculation may call (docs/nodes.md lists them all).

Names are case-insensitive, so formula.js's `ROUND` and math.js's `round` are the same function.
Each function gets its arguments already evaluated (only IF, which the evaluator runs itself,
evaluates lazily) and a `Call` that knows where it was written and charges the step budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from typing import Any

from hookline.expressions.calc import values
from hookline.expressions.calc.errors import ExpressionError
from hookline.expressions.calculators import ends_with, includes, starts_with


class Budget:
    """The steps one evaluation may still take; running out is an error, never a hang."""

    def __init__(self, limit: int = values.MAX_STEPS) -> None:
        self.limit = limit
        self.steps = 0

    def charge(self, steps: int, position: int) -> None:
        """Count `steps` more; raise when the total passes the limit."""
        self.steps += steps
        if self.steps > self.limit:
            raise ExpressionError(f"the calculation takes more than {self.limit} steps", position)


@dataclass(frozen=True, slots=True)
class Call:
    """One call being made: the function's name, where it is written, the engine and the budget."""

    name: str
    position: int
    engine: str
    budget: Budget

    def error(self, message: str) -> ExpressionError:
        """An error about this call, at its position."""
        return ExpressionError(f"{self.name}: {message}", self.position)

    def number(self, value: Any) -> float:
        """An argument as a number; text that is not a number is an error, not NaN."""
        result = values.number(value)
        if math.isnan(result) and not (isinstance(value, float) and math.isnan(value)):
            raise self.error(f"needs a number, got {values.text(value)[:40]!r}")
        return result

    def whole(self, value: Any) -> int:
        """An argument as a whole number (a count, a position), truncated toward zero."""
        result = self.number(value)
        if not math.isfinite(result):
            raise self.error(f"needs a finite whole number, got {values.text(value)}")
        return int(result)

    def items(self, arguments: list[Any]) -> Iterator[Any]:
        """The arguments with lists spliced in (at any depth), each item charged one step."""
        for argument in arguments:
            if values.is_list(argument):
                yield from self.items(list(argument))
            else:
                self.budget.charge(1, self.position)
                yield argument

    def numbers(self, arguments: list[Any]) -> list[float]:
        """Every item of the arguments (lists spliced in) as a number."""
        return [self.number(item) for item in self.items(arguments)]


Implementation = Callable[[Call, list[Any]], Any]


@dataclass(frozen=True, slots=True)
class Function:
    """A function: how many arguments it takes (`most` None: any number), and whether it is pure.

    Pure functions give the same result for the same arguments, so a call with constant
    arguments can be computed (and its errors found) when the workflow is saved.
    """

    implementation: Implementation
    least: int
    most: int | None
    pure: bool = True


def _rounded(mode: str) -> Implementation:
    """ROUND, ROUNDUP or ROUNDDOWN to a number of decimals (negative: tens, hundreds)."""

    def run(call: Call, arguments: list[Any]) -> float:
        value = call.number(arguments[0])
        digits = max(-330, min(330, call.whole(arguments[1]) if len(arguments) > 1 else 0))
        if not math.isfinite(value):
            return value
        # Decimal on the shortest repr rounds the number people see: ROUND(2.675, 2) is 2.68.
        with localcontext() as context:
            context.prec = 1000
            return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=mode))

    return run


def _unary(operation: Callable[[float], float]) -> Implementation:
    """A function of one number; a math domain error gives NaN, as JavaScript's Math does."""

    def run(call: Call, arguments: list[Any]) -> float:
        value = call.number(arguments[0])
        try:
            result = operation(value)
        except ValueError:
            return math.nan
        except OverflowError:
            raise call.error("the result is too large (beyond ±1.8e308)") from None
        return values.finite(result, (value,), call.position)

    return run


def _log(call: Call, arguments: list[Any]) -> float:
    """LOG(x, base): base 10 by default in formula.js (Excel), e in math.js."""
    value = call.number(arguments[0])
    default = math.e if call.engine == "math.js" else 10.0
    base = call.number(arguments[1]) if len(arguments) > 1 else default
    try:
        return math.log(value, base)
    except (ValueError, ZeroDivisionError):
        return math.nan


def _sum(call: Call, arguments: list[Any]) -> float:
    total = 0.0
    for item in call.numbers(arguments):
        total = values.finite(total + item, (total, item), call.position)
    return total


def _product(call: Call, arguments: list[Any]) -> float:
    result = 1.0
    for item in call.numbers(arguments):
        result = values.multiply(result, item, call.position)
    return result


def _average(call: Call, arguments: list[Any]) -> float:
    numbers = call.numbers(arguments)
    if not numbers:
        raise call.error("needs at least one number")
    return _sum(call, numbers) / len(numbers)


def _extreme(pick: Callable[[list[float]], float]) -> Implementation:
    def run(call: Call, arguments: list[Any]) -> float:
        numbers = call.numbers(arguments)
        if not numbers:
            raise call.error("needs at least one number")
        return math.nan if any(math.isnan(item) for item in numbers) else pick(numbers)

    return run


def _sumproduct(call: Call, arguments: list[Any]) -> float:
    """SUMPRODUCT(a, b, …): the sum of the products of lists of the same length."""
    lists = [argument if values.is_list(argument) else [argument] for argument in arguments]
    if len({len(items) for items in lists}) > 1:
        raise call.error("needs lists of the same length")
    total = 0.0
    for row in zip(*lists, strict=True):
        total = values.finite(total + _product(call, list(row)), (total,), call.position)
    return total


def _and(call: Call, arguments: list[Any]) -> bool:
    return all(values.truthy(item) for item in call.items(arguments))


def _or(call: Call, arguments: list[Any]) -> bool:
    return any(values.truthy(item) for item in call.items(arguments))


def _xor(call: Call, arguments: list[Any]) -> bool:
    return sum(values.truthy(item) for item in call.items(arguments)) % 2 == 1


def _text(value: Any) -> str:
    """An argument as text; null is the empty text (as Excel's functions read a blank cell)."""
    return "" if value is None else values.text(value)


def _concat(call: Call, arguments: list[Any]) -> str:
    return values.joined([_text(item) for item in call.items(arguments)], call.position)


def _length(call: Call, arguments: list[Any]) -> int:
    value = arguments[0]
    if values.is_list(value):
        return len(value)
    return len(_text(value))


def _left(call: Call, arguments: list[Any]) -> str:
    count = call.whole(arguments[1]) if len(arguments) > 1 else 1
    if count < 0:
        raise call.error("the number of characters must not be negative")
    return _text(arguments[0])[:count]


def _right(call: Call, arguments: list[Any]) -> str:
    count = call.whole(arguments[1]) if len(arguments) > 1 else 1
    if count < 0:
        raise call.error("the number of characters must not be negative")
    value = _text(arguments[0])
    return value[len(value) - count :] if count else ""


def _mid(call: Call, arguments: list[Any]) -> str:
    """MID(text, start, count): `count` characters from `start`, counted from 1 as in Excel."""
    start, count = call.whole(arguments[1]), call.whole(arguments[2])
    if start < 1 or count < 0:
        raise call.error("the start must be 1 or more and the count not negative")
    return _text(arguments[0])[start - 1 : start - 1 + count]


def _substitute(call: Call, arguments: list[Any]) -> str:
    value, old, new = (_text(item) for item in arguments)
    if not old:
        return value
    # Check the size before building: a short text with many matches may grow a lot.
    if len(value) + value.count(old) * (len(new) - len(old)) > values.MAX_TEXT:
        raise call.error(f"the text would be longer than {values.MAX_TEXT} characters")
    return value.replace(old, new)


def _repeat(call: Call, arguments: list[Any]) -> str:
    value, count = _text(arguments[0]), call.whole(arguments[1])
    if count < 0:
        raise call.error("the count must not be negative")
    if len(value) * count > values.MAX_TEXT:
        raise call.error(f"the text would be longer than {values.MAX_TEXT} characters")
    return value * count


def _to_number(call: Call, arguments: list[Any]) -> float:
    return call.number(arguments[0])


def _join(call: Call, arguments: list[Any]) -> str:
    separator = _text(arguments[1]) if len(arguments) > 1 else ","
    parts = [_text(item) for item in call.items([arguments[0]])]
    return values.joined(parts, call.position, separator)


def _texts(test: Callable[[Any, Any], bool]) -> Implementation:
    """CONTAINS, STARTSWITH or ENDSWITH with the condition node's rules."""

    def run(call: Call, arguments: list[Any]) -> bool:
        try:
            return test(arguments[0], arguments[1])
        except ValueError as error:
            raise call.error(str(error)) from None

    return run


def _one(operation: Callable[[str], str]) -> Implementation:
    return lambda call, arguments: values.built(operation(_text(arguments[0])), call.position)


BASIC: Mapping[str, Function] = {
    "ABS": Function(_unary(abs), 1, 1),
    "SIGN": Function(_unary(lambda x: x if math.isnan(x) or x == 0 else math.copysign(1.0, x)), 1, 1),
    "ROUND": Function(_rounded(ROUND_HALF_UP), 1, 2),
    "ROUNDUP": Function(_rounded(ROUND_UP), 1, 2),
    "ROUNDDOWN": Function(_rounded(ROUND_DOWN), 1, 2),
    "FLOOR": Function(_unary(lambda x: float(math.floor(x)) if math.isfinite(x) else x), 1, 1),
    "INT": Function(_unary(lambda x: float(math.floor(x)) if math.isfinite(x) else x), 1, 1),
    "CEIL": Function(_unary(lambda x: float(math.ceil(x)) if math.isfinite(x) else x), 1, 1),
    "CEILING": Function(_unary(lambda x: float(math.ceil(x)) if math.isfinite(x) else x), 1, 1),
    "TRUNC": Function(_unary(lambda x: float(math.trunc(x)) if math.isfinite(x) else x), 1, 1),
    "FIX": Function(_unary(lambda x: float(math.trunc(x)) if math.isfinite(x) else x), 1, 1),
    "SQRT": Function(_unary(math.sqrt), 1, 1),
    "EXP": Function(_unary(math.exp), 1, 1),
    "LN": Function(_unary(math.log), 1, 1),
    "LOG": Function(_log, 1, 2),
    "LOG10": Function(_unary(math.log10), 1, 1),
    "POWER": Function(lambda call, a: values.power(a[0], a[1], call.position), 2, 2),
    "POW": Function(lambda call, a: values.power(a[0], a[1], call.position), 2, 2),
    "MOD": Function(lambda call, a: values.modulo(call.number(a[0]), call.number(a[1])), 2, 2),
    "PI": Function(lambda call, a: math.pi, 0, 0),
    "SUM": Function(_sum, 1, None),
    "PRODUCT": Function(_product, 1, None),
    "AVERAGE": Function(_average, 1, None),
    "MEAN": Function(_average, 1, None),
    "MIN": Function(_extreme(min), 1, None),
    "MAX": Function(_extreme(max), 1, None),
    "SUMPRODUCT": Function(_sumproduct, 1, None),
    "AND": Function(_and, 1, None),
    "OR": Function(_or, 1, None),
    "XOR": Function(_xor, 1, None),
    "NOT": Function(lambda call, a: not values.truthy(a[0]), 1, 1),
    "ISBLANK": Function(lambda call, a: a[0] is None or a[0] == "", 1, 1),
    "ISNUMBER": Function(lambda call, a: values.is_number(a[0]), 1, 1),
    "ISTEXT": Function(lambda call, a: isinstance(a[0], str), 1, 1),
    "CONCAT": Function(_concat, 1, None),
    "CONCATENATE": Function(_concat, 1, None),
    "LEN": Function(_length, 1, 1),
    "LENGTH": Function(_length, 1, 1),
    "UPPER": Function(_one(str.upper), 1, 1),
    "LOWER": Function(_one(str.lower), 1, 1),
    "TRIM": Function(_one(lambda value: " ".join(part for part in value.split(" ") if part).strip()), 1, 1),
    "LEFT": Function(_left, 1, 2),
    "RIGHT": Function(_right, 1, 2),
    "MID": Function(_mid, 3, 3),
    "SUBSTITUTE": Function(_substitute, 3, 3),
    "REPT": Function(_repeat, 2, 2),
    "CONTAINS": Function(_texts(includes), 2, 2),
    "INCLUDES": Function(_texts(includes), 2, 2),
    "STARTSWITH": Function(_texts(starts_with), 2, 2),
    "ENDSWITH": Function(_texts(ends_with), 2, 2),
    "TEXT": Function(lambda call, a: values.built(values.text(a[0]), call.position), 1, 1),
    "STRING": Function(lambda call, a: values.built(values.text(a[0]), call.position), 1, 1),
    "NUMBER": Function(_to_number, 1, 1),
    "VALUE": Function(_to_number, 1, 1),
    "NUMERIC": Function(_to_number, 1, 1),
    "JOIN": Function(_join, 1, 2),
}
"""The functions that are not about dates, by upper-case name."""
