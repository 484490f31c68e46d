"""The basic condition engine: JavaScript-faithful calculators and the and/or calculation tree."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hookline.errors import NodeError, Problem
from hookline.expressions.calculators import (
    CALCULATORS,
    CalculationError,
    check_calculation,
    evaluate_calculation,
    js_number,
    js_string,
    loose_equal,
)
from hookline.expressions.numbers import js_number_text

SHARED = [1, 2]

# JavaScript `a == b`, as node / a browser console gives it.
LOOSE_EQUALITY = [
    (None, None, True),
    (None, 0, False),
    (None, "", False),
    (None, False, False),
    (None, [], False),
    (1, "1", True),
    ("", 0, True),
    (" 1 ", 1, True),
    ("\n\t1\u00a0", 1, True),
    ("abc", 0, False),
    ("1e3", 1000, True),
    ("1.", 1, True),
    (".5", 0.5, True),
    ("0x10", 16, True),
    ("0X1f", 31, True),
    ("-0x10", -16, False),
    ("0b101", 5, True),
    ("0o17", 15, True),
    ("Infinity", math.inf, True),
    ("-Infinity", -math.inf, True),
    ("infinity", math.inf, False),
    ("1_000", 1000, False),
    ("\u0661", 1, False),
    ("nan", math.nan, False),
    (math.nan, math.nan, False),
    (1, 1.0, True),
    (0.1 + 0.2, 0.3, False),
    (2**53, 2**53 + 1, True),
    ("a", "a", True),
    ("1.0", "1", False),
    ("NaN", "NaN", True),
    (True, 1, True),
    (True, "1", True),
    (False, "0", True),
    (False, "", True),
    (True, "true", False),
    (True, True, True),
    (True, False, False),
    (True, 2, False),
    ([1, 2], "1,2", True),
    ([], "", True),
    ([], 0, True),
    ([], False, True),
    ([0], False, True),
    ([1], True, True),
    ([None], "", True),
    ([[1, 2], 3], "1,2,3", True),
    ([1.5], 1.5, True),
    ({"a": 1}, "[object Object]", True),
    ({}, {}, False),
    ([1], [1], False),
    (SHARED, SHARED, True),
]


@pytest.mark.parametrize(("a", "b", "expected"), LOOSE_EQUALITY)
def test_equal_follows_javascript_loose_equality(a: Any, b: Any, expected: bool) -> None:
    """`equal` gives what JavaScript `a == b` gives, in both operand orders; `notEqual` the opposite."""
    assert loose_equal(a, b) is expected
    assert loose_equal(b, a) is expected
    assert CALCULATORS["equal"](a, b) is expected
    assert CALCULATORS["notEqual"](a, b) is not expected


# (calculator, a, b, expected) as JavaScript's relational operators give them.
RELATIONS = [
    ("gt", 2, 1, True),
    ("gt", 1, 1, False),
    ("gte", 1, 1, True),
    ("lt", 1, 2, True),
    ("lte", 2, 2, True),
    ("gt", "b", "a", True),
    ("gt", "10", "9", False),
    ("gt", 10, "9", True),
    ("lt", "10", 9, False),
    ("gt", "abc", 1, False),
    ("lt", "abc", 1, False),
    ("gte", "abc", 1, False),
    ("lte", 1, "abc", False),
    ("gte", None, 0, True),
    ("lte", None, 0, True),
    ("gt", None, -1, True),
    ("lt", None, None, False),
    ("lt", True, 2, True),
    ("gt", False, -1, True),
    ("gt", [2], 1, True),
    ("gt", [1, 2], 0, False),
    ("lt", [1, 2], 0, False),
    ("gt", {}, 0, False),
    ("gt", "", -1, True),
    ("gte", "a", "a", True),
    ("lte", "a", "b", True),
    ("lte", "b", "a", False),
    ("gt", "a", "B", True),
    ("lt", "\U00010000", "\uffff", True),
    ("gt", [10], "9", False),
    ("gte", math.nan, math.nan, False),
    ("gt", 2**53 + 1, 2**53, False),
    ("gt", "2026-01-02", "2026-01-01", True),
]


@pytest.mark.parametrize(("name", "a", "b", "expected"), RELATIONS)
def test_relational_calculators_follow_javascript(name: str, a: Any, b: Any, expected: bool) -> None:
    """gt/gte/lt/lte compare two strings as text and anything else as numbers; NaN is never ordered."""
    assert CALCULATORS[name](a, b) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("hello", "ell", True),
        ("hello", "x", False),
        ("hello", "", True),
        ("a1b", 1, True),
        ("is null", None, True),
        ("true story", True, True),
        ([1, 2], 1, True),
        ([1, 2], "1", False),
        ([True], 1, False),
        ([1], True, False),
        ([None], None, True),
        (["a", "b"], "b", True),
        ([1.0], 1, True),
        ([[1]], [1], False),
        ([SHARED], SHARED, True),
        ([], None, False),
    ],
)
def test_includes_finds_text_or_a_strictly_equal_element(a: Any, b: Any, expected: bool) -> None:
    """includes looks for the text of b inside a string, or an element === b inside a list."""
    assert CALCULATORS["includes"](a, b) is expected
    assert CALCULATORS["notIncludes"](a, b) is not expected


@pytest.mark.parametrize("subject", [None, 5, True, {"a": 1}])
@pytest.mark.parametrize("name", ["includes", "notIncludes"])
def test_includes_on_something_other_than_text_or_list_fails(name: str, subject: Any) -> None:
    """includes and notIncludes need a string or a list first, as in JavaScript."""
    with pytest.raises(ValueError, match="text or a list"):
        CALCULATORS[name](subject, "a")


@pytest.mark.parametrize(
    ("name", "a", "b", "expected"),
    [
        ("startsWith", "hello", "he", True),
        ("startsWith", "hello", "lo", False),
        ("startsWith", 123, 12, True),
        ("startsWith", [1, 2], "1,", True),
        ("startsWith", True, "tr", True),
        ("startsWith", 1.5, "1.", True),
        ("startsWith", "abc", "", True),
        ("startsWith", {"a": 1}, "[object", True),
        ("notStartsWith", "hello", "he", False),
        ("notStartsWith", "hello", "x", True),
        ("endsWith", "hello", "lo", True),
        ("endsWith", 1e21, "e+21", True),
        ("endsWith", "hello", "he", False),
        ("notEndsWith", "hello", "lo", False),
        ("notEndsWith", 10, 1, True),
    ],
)
def test_starts_and_ends_with_compare_the_text_of_both_operands(
    name: str, a: Any, b: Any, expected: bool
) -> None:
    """startsWith and endsWith (and their negations) work on JavaScript's String() of each operand."""
    assert CALCULATORS[name](a, b) is expected


@pytest.mark.parametrize("name", ["startsWith", "notStartsWith", "endsWith", "notEndsWith"])
@pytest.mark.parametrize(("a", "b"), [(None, "a"), ("a", None)])
def test_starts_and_ends_with_refuse_a_null_operand(name: str, a: Any, b: Any) -> None:
    """A null or missing operand has no text, so the prefix and suffix calculators fail on it."""
    with pytest.raises(CalculationError, match=f"{name} cannot compare a null"):
        CALCULATORS[name](a, b)


def test_aliases_are_the_same_calculators() -> None:
    """The symbolic names are aliases of the word names."""
    pairs = {"==": "equal", "!=": "notEqual", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
    for alias, name in pairs.items():
        assert CALCULATORS[alias] is CALCULATORS[name]
    assert len(CALCULATORS) == 18


def test_calculation_errors_are_value_errors_and_node_errors() -> None:
    """A calculation error is a ValueError and a NodeError, so it becomes a clean error job."""
    assert issubclass(CalculationError, ValueError)
    assert issubclass(CalculationError, NodeError)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1, "1"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (-0.0, "0"),
        (123.456, "123.456"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (2**53, "9007199254740992"),
        (123456789012345678901, "123456789012345680000"),
        (0.1 + 0.2, "0.30000000000000004"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (10**400, "Infinity"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(number: float, text: str) -> None:
    """Number-to-text follows ECMAScript's Number::toString, exponent form included."""
    assert js_number_text(number) == text


def test_js_string_and_js_number_convert_every_json_kind() -> None:
    """String() and Number() of null, booleans, lists and objects match JavaScript."""
    assert [js_string(v) for v in (None, True, [1, None, [2, 3]], {"a": 1})] == [
        "null",
        "true",
        "1,,2,3",
        "[object Object]",
    ]
    assert [js_number(v) for v in (None, False, [], ["7"], "  ")] == [0, 0, 0, 7, 0]
    assert math.isnan(js_number({}))


def item(calculator: Any, *operands: Any) -> dict[str, Any]:
    """A calculation item."""
    return {"calculator": calculator, "operands": list(operands)}


def group(kind: str, *calculations: Any) -> dict[str, Any]:
    """A calculation group."""
    return {"group": {"type": kind, "calculations": list(calculations)}}


def test_empty_and_is_true_and_empty_or_is_false() -> None:
    """An empty `and` group holds, an empty `or` group does not."""
    assert evaluate_calculation(group("and")) is True
    assert evaluate_calculation(group("or")) is False
    assert evaluate_calculation({"group": {"type": "and"}}) is True


def test_groups_combine_their_items() -> None:
    """`and` needs every item true, `or` any one."""
    yes, no = item("equal", 1, "1"), item("gt", 1, 2)
    assert evaluate_calculation(group("and", yes, yes)) is True
    assert evaluate_calculation(group("and", yes, no)) is False
    assert evaluate_calculation(group("or", no, yes)) is True
    assert evaluate_calculation(group("or", no, no)) is False


def test_groups_nest() -> None:
    """A group may hold groups: (false or true) and not (1 > 2)."""
    tree = group("and", group("or", item("lt", 2, 1), item("startsWith", "abc", "a")), item("lte", 1, 2))
    assert evaluate_calculation(tree) is True
    assert evaluate_calculation(group("or", group("and", item("lt", 2, 1)), group("or"))) is False


def test_groups_stop_at_the_first_deciding_item() -> None:
    """Like every/some, a decided group does not evaluate later items (which would fail here)."""
    failing = item("includes", None, "x")
    assert evaluate_calculation(group("and", item("gt", 1, 2), failing)) is False
    assert evaluate_calculation(group("or", item("gt", 2, 1), failing)) is True
    with pytest.raises(CalculationError):
        evaluate_calculation(group("and", item("gt", 2, 1), failing))


def test_an_item_without_calculator_or_operands_is_true() -> None:
    """Half-filled items hold, as in NocoBase, and so does a missing calculation."""
    assert evaluate_calculation({"operands": [1, 2]}) is True
    assert evaluate_calculation({"calculator": "", "operands": [1, 2]}) is True
    assert evaluate_calculation({"calculator": "gt", "operands": []}) is True
    assert evaluate_calculation({"calculator": "gt"}) is True
    assert evaluate_calculation(None) is True


def test_a_missing_second_operand_is_null() -> None:
    """An item with a single operand compares it with null."""
    assert evaluate_calculation(item("equal", None)) is True
    assert evaluate_calculation(item("equal", 0)) is False


def test_an_item_at_the_top_is_evaluated_directly() -> None:
    """The calculation may be a single item instead of a group."""
    assert evaluate_calculation(item(">=", "5", 5)) is True


@pytest.mark.parametrize(
    ("calculation", "message"),
    [
        (item("like", 1, 2), "unknown calculator 'like'"),
        ({"group": {"type": "xor", "calculations": []}}, 'must be "and" or "or"'),
        ({"group": []}, "group must be an object"),
        ({"group": {"type": "and", "calculations": {}}}, "must be a list"),
        ({"calculator": "equal", "operands": "ab"}, "operands of a calculation must be a list"),
        ([item("equal", 1, 1)], "must be an object"),
    ],
)
def test_malformed_calculations_fail_with_a_clear_message(calculation: Any, message: str) -> None:
    """Evaluating a malformed tree raises a CalculationError that says what is wrong."""
    with pytest.raises(CalculationError, match=message):
        evaluate_calculation(calculation)


def test_a_valid_calculation_has_no_problems() -> None:
    """A well-formed tree with known calculators and templated operands passes the check."""
    tree = group("or", item("==", "{{$context.body.a}}", 1), group("and"), {"operands": []})
    assert check_calculation(tree, "config.calculation") == []


@pytest.mark.parametrize(
    ("calculation", "problems"),
    [
        (
            "a == b",
            [
                Problem(
                    "config.calculation",
                    'must be an object: {"group": {...}} or {"calculator": ..., "operands": [a, b]}',
                )
            ],
        ),
        (
            {"group": None},
            [
                Problem(
                    "config.calculation.group",
                    'must be an object with "type" ("and" or "or") and "calculations"',
                )
            ],
        ),
        (
            {"group": {"calculations": []}},
            [Problem("config.calculation.group.type", 'must be "and" or "or"')],
        ),
        (
            {"group": {"type": "not", "calculations": 3}},
            [
                Problem("config.calculation.group.type", 'must be "and" or "or"'),
                Problem("config.calculation.group.calculations", "must be a list of calculations"),
            ],
        ),
        (
            group("and", item("equal", 1, 1), item("contains", 1, 2)),
            [
                Problem(
                    "config.calculation.group.calculations[1].calculator",
                    "unknown calculator 'contains'; use one of: equal, notEqual, gt, gte, lt, lte, "
                    "includes, notIncludes, startsWith, notStartsWith, endsWith, notEndsWith",
                )
            ],
        ),
        (
            group("or", group("and", {"calculator": "gt", "operands": [1, 2, 3]})),
            [
                Problem(
                    "config.calculation.group.calculations[0].group.calculations[0].operands",
                    "must be a list of at most two values",
                )
            ],
        ),
        (
            item("gt", 1, 2) | {"operands": {"a": 1}},
            [Problem("config.calculation.operands", "must be a list of at most two values")],
        ),
        (
            group("and", 7),
            [
                Problem(
                    "config.calculation.group.calculations[0]",
                    'must be an object: {"group": {...}} or {"calculator": ..., "operands": [a, b]}',
                )
            ],
        ),
    ],
)
def test_check_names_each_problem_and_its_field(calculation: Any, problems: list[Problem]) -> None:
    """check_calculation gives one problem per wrong field, with the path to that field."""
    assert check_calculation(calculation, "config.calculation") == problems


def test_check_refuses_groups_nested_too_deep() -> None:
    """A tree nested deeper than 32 groups is refused instead of exhausting the stack."""
    tree: dict[str, Any] = group("and")
    for _ in range(40):
        tree = group("and", tree)
    problems = check_calculation(tree, "c")
    assert len(problems) == 1
    assert problems[0].message == "groups may nest at most 32 levels deep"
    assert problems[0].where.startswith("c.group.calculations[0].group")
