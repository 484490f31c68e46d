"""The basic condition engine: JavaScript-faithful calculators and the and/or calculation tree.

Values are JSON values (None, bool, int, float, str, list, dict). They follow JavaScript's rules
because exported NocoBase workflows rely on them: `==` is loose equality, `<` compares two strings
by UTF-16 code units and everything else as numbers, and numbers are IEEE doubles (so two ints
beyond 2**53 may compare equal, as they would in JavaScript). A missing value is None (JS `null`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from hookline.errors import NodeError, Problem
from hookline.expressions.numbers import as_double, js_number_text
from hookline.types import JsonValue

_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = {
    "0x": (16, re.compile(r"[0-9a-fA-F]+")),
    "0o": (8, re.compile(r"[0-7]+")),
    "0b": (2, re.compile("[01]+")),
}
_INFINITIES = {"Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}
_MAX_DEPTH = 32
"""How deep groups may nest; deeper trees are refused by `check_calculation`."""


class CalculationError(NodeError, ValueError):
    """A calculation cannot be evaluated (unknown calculator, operand of the wrong type)."""


# --- JavaScript conversions -------------------------------------------------------------------


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _is_object(value: Any) -> bool:
    return _is_array(value) or isinstance(value, Mapping)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def js_string(value: Any) -> str:
    """A value as JavaScript's `String(value)` gives it (arrays joined with commas)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return js_number_text(value)
    if isinstance(value, str):
        return value
    if _is_array(value):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _to_primitive(value: Any) -> Any:
    """Objects and arrays become their string; other values stay as they are."""
    return js_string(value) if _is_object(value) else value


def js_number(value: Any) -> float:
    """A value as JavaScript's `Number(value)` gives it; NaN when it is not numeric."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if _is_number(value):
        return as_double(value)
    if isinstance(value, str):
        return _string_number(value)
    return _string_number(js_string(value))


def _string_number(text: str) -> float:
    """A string as JavaScript reads it as a number: trimmed, empty is 0, hex/octal/binary allowed."""
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return 0.0
    if text in _INFINITIES:
        return _INFINITIES[text]
    if _DECIMAL.fullmatch(text):
        return float(text)
    radix = _RADIX.get(text[:2].lower())
    if radix is not None and radix[1].fullmatch(text[2:]):
        return as_double(int(text[2:], radix[0]))
    return math.nan


def _utf16(text: str) -> bytes:
    """Bytes that sort as JavaScript sorts strings: by UTF-16 code units."""
    return text.encode("utf-16-be", "surrogatepass")


# --- Calculators ------------------------------------------------------------------------------


def loose_equal(a: Any, b: Any) -> bool:
    """JavaScript `a == b`: null equals only null, strings and booleans compare as numbers.

    Two objects or arrays are equal only when they are the same object, as in JavaScript
    (`[1] == [1]` is false). Rendering copies values, so two rendered operands never are.
    """
    if a is None or b is None:
        return a is None and b is None
    if _is_object(a) and _is_object(b):
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return loose_equal(_bool_as_number(a), _bool_as_number(b))
    a, b = _to_primitive(a), _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return js_number(a) == js_number(b)


def _bool_as_number(value: Any) -> Any:
    return (1 if value else 0) if isinstance(value, bool) else value


def not_equal(a: Any, b: Any) -> bool:
    """JavaScript `a != b`."""
    return not loose_equal(a, b)


def _less_than(a: Any, b: Any) -> bool | None:
    """JavaScript's abstract `a < b`: None stands for `undefined` (a NaN was involved)."""
    a, b = _to_primitive(a), _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return _utf16(a) < _utf16(b)
    left, right = js_number(a), js_number(b)
    if math.isnan(left) or math.isnan(right):
        return None
    return left < right


def gt(a: Any, b: Any) -> bool:
    """JavaScript `a > b`."""
    return _less_than(b, a) is True


def gte(a: Any, b: Any) -> bool:
    """JavaScript `a >= b`."""
    return _less_than(a, b) is False


def lt(a: Any, b: Any) -> bool:
    """JavaScript `a < b`."""
    return _less_than(a, b) is True


def lte(a: Any, b: Any) -> bool:
    """JavaScript `a <= b`."""
    return _less_than(b, a) is False


def _same_value_zero(a: Any, b: Any) -> bool:
    """JavaScript's SameValueZero, used by `Array.prototype.includes`: no type conversion."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        left, right = as_double(a), as_double(b)
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is b
    return _is_object(a) and a is b


def includes(a: Any, b: Any) -> bool:
    """Whether text `a` holds the text of `b`, or list `a` holds `b` (strict equality)."""
    if isinstance(a, str):
        return js_string(b) in a
    if _is_array(a):
        return any(_same_value_zero(item, b) for item in a)
    raise CalculationError(
        f"includes needs text or a list as its first operand, got {_kind(a)}: {js_string(a)[:60]}"
    )


def not_includes(a: Any, b: Any) -> bool:
    """The opposite of `includes`; fails on the same operands."""
    return not includes(a, b)


def _texts(name: str, a: Any, b: Any) -> tuple[str, str]:
    """Both operands as text; a null operand has no text (JavaScript would throw)."""
    if a is None or b is None:
        raise CalculationError(f"{name} cannot compare a null or missing operand")
    return js_string(a), js_string(b)


def starts_with(a: Any, b: Any) -> bool:
    """Whether the text of `a` starts with the text of `b`."""
    text, prefix = _texts("startsWith", a, b)
    return text.startswith(prefix)


def not_starts_with(a: Any, b: Any) -> bool:
    """The opposite of `startsWith`; fails on the same operands."""
    text, prefix = _texts("notStartsWith", a, b)
    return not text.startswith(prefix)


def ends_with(a: Any, b: Any) -> bool:
    """Whether the text of `a` ends with the text of `b`."""
    text, suffix = _texts("endsWith", a, b)
    return text.endswith(suffix)


def not_ends_with(a: Any, b: Any) -> bool:
    """The opposite of `endsWith`; fails on the same operands."""
    text, suffix = _texts("notEndsWith", a, b)
    return not text.endswith(suffix)


def _kind(value: Any) -> str:
    """A value's JSON kind, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


CALCULATORS: Mapping[str, Callable[[Any, Any], bool]] = MappingProxyType(
    {
        "equal": loose_equal,
        "==": loose_equal,
        "notEqual": not_equal,
        "!=": not_equal,
        "gt": gt,
        ">": gt,
        "gte": gte,
        ">=": gte,
        "lt": lt,
        "<": lt,
        "lte": lte,
        "<=": lte,
        "includes": includes,
        "notIncludes": not_includes,
        "startsWith": starts_with,
        "notStartsWith": not_starts_with,
        "endsWith": ends_with,
        "notEndsWith": not_ends_with,
    }
)
"""Every calculator by name, aliases included; each takes the two rendered operands."""


# --- The calculation tree ---------------------------------------------------------------------


def evaluate_calculation(calculation: JsonValue) -> bool:
    """Evaluate a rendered tree of and/or groups and calculator items.

    Empty `and` is true, empty `or` false; an item without calculator or operands is true, and
    so is a missing calculation (NocoBase behaviour). Raises `CalculationError` (a ValueError).
    """
    if calculation is None:
        return True
    if not isinstance(calculation, Mapping):
        raise CalculationError(f"a calculation must be an object, got {_kind(calculation)}")
    if "group" in calculation:
        return _evaluate_group(calculation["group"])
    return _evaluate_item(calculation)


def _evaluate_group(group: Any) -> bool:
    """`and` is every (short-circuit), `or` is some."""
    if not isinstance(group, Mapping):
        raise CalculationError(f"a calculation group must be an object, got {_kind(group)}")
    calculations = group.get("calculations")
    if calculations is None:
        calculations = []
    if not isinstance(calculations, list):
        raise CalculationError("the calculations of a group must be a list")
    kind = group.get("type")
    if kind == "and":
        return all(evaluate_calculation(item) for item in calculations)
    if kind == "or":
        return any(evaluate_calculation(item) for item in calculations)
    raise CalculationError(f'a calculation group type must be "and" or "or", got {js_string(kind)!r}')


def _evaluate_item(item: Mapping[str, Any]) -> bool:
    """Apply one calculator to its two operands (a missing second operand is null)."""
    name, operands = item.get("calculator"), item.get("operands")
    if not name or not operands:
        return True
    if not isinstance(operands, list):
        raise CalculationError("the operands of a calculation must be a list")
    calculator = CALCULATORS.get(name) if isinstance(name, str) else None
    if calculator is None:
        raise CalculationError(f"unknown calculator {js_string(name)!r}")
    second = operands[1] if len(operands) > 1 else None
    return calculator(operands[0], second)


def check_calculation(calculation: JsonValue, where: str) -> list[Problem]:
    """The problems with a calculation tree's shape and calculator names, each naming its field."""
    return _check_node(calculation, where, depth=0)


def _check_node(calculation: Any, where: str, depth: int) -> list[Problem]:
    if not isinstance(calculation, Mapping):
        return [
            Problem(where, 'must be an object: {"group": {...}} or {"calculator": ..., "operands": [a, b]}')
        ]
    if "group" in calculation:
        return _check_group(calculation["group"], f"{where}.group", depth)
    return _check_item(calculation, where)


def _check_group(group: Any, where: str, depth: int) -> list[Problem]:
    if depth >= _MAX_DEPTH:
        return [Problem(where, f"groups may nest at most {_MAX_DEPTH} levels deep")]
    if not isinstance(group, Mapping):
        return [Problem(where, 'must be an object with "type" ("and" or "or") and "calculations"')]
    problems = []
    if group.get("type") not in ("and", "or"):
        problems.append(Problem(f"{where}.type", 'must be "and" or "or"'))
    calculations = group.get("calculations", [])
    if not isinstance(calculations, list):
        return [*problems, Problem(f"{where}.calculations", "must be a list of calculations")]
    for index, item in enumerate(calculations):
        problems += _check_node(item, f"{where}.calculations[{index}]", depth + 1)
    return problems


def _check_item(item: Mapping[str, Any], where: str) -> list[Problem]:
    problems = []
    name = item.get("calculator")
    if name and not (isinstance(name, str) and name in CALCULATORS):
        known = ", ".join(key for key in CALCULATORS if key.isalpha())
        problems.append(Problem(f"{where}.calculator", f"unknown calculator {name!r}; use one of: {known}"))
    operands = item.get("operands")
    if operands is not None and not (isinstance(operands, list) and len(operands) <= 2):
        problems.append(Problem(f"{where}.operands", "must be a list of at most two values"))
    return problems
