"""The calculation evaluator: operators, precedence, functions, JavaScript numbers, errors with positions."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.expressions.calc import Budget, ExpressionError, compile_expression

SCOPE = {
    "$context": {
        "body": {
            "price": "19.90",
            "qty": 3,
            "name": "Ann",
            "items": [{"price": 2, "qty": 3}, {"price": 1.5, "qty": 2}],
            "attack": '1); __import__("os").system("id',
            "created": "2026-01-31T09:30:00Z",
        }
    }
}


def calc(expression: str, engine: str = "formula.js") -> Any:
    """The value of an expression over SCOPE."""
    return compile_expression(expression, engine).evaluate(SCOPE)


def _saved_and_run(expression: str, engine: str) -> Any:
    """Parse an expression, check it as a save does, then run it over SCOPE."""
    parsed = compile_expression(expression, engine)
    parsed.check_constants()
    return parsed.evaluate(SCOPE)


def failure(expression: str, engine: str = "formula.js") -> ExpressionError:
    """The error an expression raises when parsed, checked at save, or run."""
    with pytest.raises(ExpressionError) as caught:
        _saved_and_run(expression, engine)
    return caught.value


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 ** 3 ** 2", 512),
        ("-2 ** 2", -4),
        ("2 ** -1", 0.5),
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("1 + 2 < 4 && 3 > 2", True),
        ("1 < 2 == true", True),
        ("false || 0 || 'x'", "x"),
        ("0 && 1", 0),
        ("!0", True),
        ("true ? 1 : 2", 1),
        ("false ? 1 : true ? 2 : 3", 2),
        ("'1' == 1", True),
        ("'1' === 1", False),
        ("1 !== 1", False),
        ("null == 0", False),
        ("'b' > 'a'", True),
        ("3 >= 3", True),
        ("2 <= 1", False),
        ("1 != 2", True),
        ("+'3' + -'2'", 1),
        ("'10' < '9'", True),
        ("'10' < 9", False),
        ("100 * 2.3", 230),
        ("0.1 + 0.2", 0.3),
        ("[1, 'a', null]", [1, "a", None]),
    ],
)
def test_operators_follow_javascript_precedence_and_rules(expression: str, expected: Any) -> None:
    """Every operator gives what JavaScript (formula.js) gives, at JavaScript's precedence."""
    assert calc(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 ^ 10", 1024),
        ("2 ^ 3 ^ 2", 512),
        ("-7 % 3", 2),
        ("1 < 2 and not (2 < 1)", True),
        ("0 or 'x'", True),
        ("'2' + 3", 5),
        ("concat('a', 'b')", "ab"),
        ("round(log(100, 10))", 2),
        ("round(log(exp(2)), 6)", 2),
    ],
)
def test_math_js_syntax_has_its_own_operators(expression: str, expected: Any) -> None:
    """math.js: `^` is the power, `%` the modulo, `and`/`or` give booleans and `+` adds numbers."""
    assert calc(expression, "math.js") == expected


def test_placeholders_are_values_never_syntax() -> None:
    """A variable holding expression text stays text: nothing in it is parsed or run."""
    assert calc("{{$context.body.attack}}") == SCOPE["$context"]["body"]["attack"]
    assert calc("LEN({{$context.body.attack}})") == len(SCOPE["$context"]["body"]["attack"])


def test_nocobase_style_expressions_work() -> None:
    """The expressions people write in NocoBase's calculation node give the same results."""
    assert calc("{{$context.body.price}} * 1.2") == 23.88
    assert calc("ROUND({{$context.body.price}} * 1.2, 1)") == 23.9
    assert calc('IF({{$context.body.qty}} > 1, "big", "small")') == "big"
    assert calc('"Dear " + {{$context.body.name}} + ", thanks"') == "Dear Ann, thanks"
    assert calc("SUMPRODUCT({{$context.body.items.price}}, {{$context.body.items.qty}})") == 9
    assert calc("sum({{$context.body.items.price}})", "math.js") == 3.5


def test_missing_variables_are_null_and_defaults_apply() -> None:
    """A path that resolves to nothing is null (0 in arithmetic); `{{ path : default }}` gives the default."""
    assert calc("{{$context.body.nothing}}") is None
    assert calc("{{$context.body.nothing}} + 1") == 1
    assert calc("{{$context.body.nothing : 5}} * 2") == 10


def test_numbers_follow_javascript_and_json() -> None:
    """1/0 is Infinity inside (a null result, as NocoBase), whole numbers are integers, text joins like JS."""
    assert calc("1 / 0") is None
    assert calc("1 / 0 > 10") is True
    assert calc("0 / 0") is None
    assert calc("1 / 0 * 0") is None
    assert calc("'n=' + 1.0") == "n=1"
    assert calc("'n=' + 1e21") == "n=1e+21"
    assert calc("'n=' + 0.000001") == "n=0.000001"
    assert calc("'n=' + 1e-7") == "n=1e-7"
    assert isinstance(calc("4 / 2"), int)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("ABS(-3.5)", 3.5),
        ("SIGN(-2)", -1),
        ("ROUND(2.675, 2)", 2.68),
        ("ROUND(-2.5)", -3),
        ("ROUND(1234, -2)", 1200),
        ("ROUNDUP(1.21, 1)", 1.3),
        ("ROUNDDOWN(-1.29, 1)", -1.2),
        ("FLOOR(-1.5)", -2),
        ("INT(1.9)", 1),
        ("CEIL(1.1)", 2),
        ("CEILING(1.1)", 2),
        ("TRUNC(-1.9)", -1),
        ("FIX(1.9)", 1),
        ("SQRT(16)", 4),
        ("SQRT(-1)", None),
        ("EXP(0)", 1),
        ("LN(1)", 0),
        ("LOG(1000)", 3),
        ("LOG(8, 2)", 3),
        ("LOG10(100)", 2),
        ("POWER(2, 8)", 256),
        ("POW(2, 0.5) * POW(2, 0.5)", 2),
        ("MOD(-7, 3)", 2),
        ("ROUND(PI(), 4)", 3.1416),
        ("SUM(1, [2, 3], 4)", 10),
        ("PRODUCT(2, 3, 4)", 24),
        ("AVERAGE(1, 2, 3, 4)", 2.5),
        ("MEAN([2, 4])", 3),
        ("MIN(3, 1, 2)", 1),
        ("MAX([3, 9], 2)", 9),
        ("SUMPRODUCT([1, 2], [3, 4])", 11),
        ("AND(1, true, 'x')", True),
        ("OR(0, '', null)", False),
        ("XOR(true, true, true)", True),
        ("NOT(0)", True),
        ("ISBLANK('')", True),
        ("ISNUMBER('1')", False),
        ("ISTEXT('1')", True),
        ("IF(1 > 2, 'a')", False),
        ("CONCAT('a', 1, null, true)", "a1true"),
        ("CONCATENATE('x', [1, 2])", "x12"),
        ("LEN('héllo')", 5),
        ("LENGTH([1, 2])", 2),
        ("UPPER('abc')", "ABC"),
        ("LOWER('ABC')", "abc"),
        ("TRIM('  a   b  ')", "a b"),
        ("LEFT('abcdef', 2)", "ab"),
        ("LEFT('abc')", "a"),
        ("RIGHT('abcdef', 2)", "ef"),
        ("RIGHT('abc', 0)", ""),
        ("MID('abcdef', 2, 3)", "bcd"),
        ("SUBSTITUTE('a-b-c', '-', '+')", "a+b+c"),
        ("REPT('ab', 3)", "ababab"),
        ("CONTAINS('invoice', 'voice')", True),
        ("INCLUDES([1, 2], 2)", True),
        ("STARTSWITH('order-1', 'order')", True),
        ("ENDSWITH('order-1', '-2')", False),
        ("TEXT(1.50)", "1.5"),
        ("STRING(true)", "true"),
        ("NUMBER(' 42 ')", 42),
        ("VALUE('1e3')", 1000),
        ("NUMERIC('0x10')", 16),
        ("JOIN(['a', 'b'], '/')", "a/b"),
        ("JOIN([1, 2])", "1,2"),
    ],
)
def test_every_function(expression: str, expected: Any) -> None:
    """Each documented function gives its documented result."""
    assert calc(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("DATE(2026, 1, 31)", "2026-01-31T00:00:00.000Z"),
        ("DATE(2026, 13, 1)", "2027-01-01T00:00:00.000Z"),
        ("YEAR({{$context.body.created}})", 2026),
        ("MONTH({{$context.body.created}})", 1),
        ("DAY({{$context.body.created}})", 31),
        ("HOUR('2026-01-31T09:30:00+02:00')", 7),
        ("MINUTE({{$context.body.created}})", 30),
        ("SECOND('2026-01-31T09:30:15Z')", 15),
        ("WEEKDAY('2026-01-31')", 7),
        ("DATEADD({{$context.body.created}}, 1, 'month')", "2026-02-28T09:30:00.000Z"),
        ("DATEADD('2026-01-31', -2, 'days')", "2026-01-29T00:00:00.000Z"),
        ("DATEADD('2026-01-31', 1.5, 'hours')", "2026-01-31T01:30:00.000Z"),
        ("DATEADD('2026-01-31', 1, 'year')", "2027-01-31T00:00:00.000Z"),
        ("DATEDIFF('2026-01-01', '2026-03-15')", 73),
        ("DATEDIFF('2026-01-31', '2026-03-30', 'months')", 1),
        ("DATEDIFF('2026-03-15', '2026-01-01', 'weeks')", -10),
        ("DATEDIFF('2020-02-29', '2026-02-27', 'years')", 5),
        ("DAYS('2026-02-01T01:00:00Z', '2026-01-31T23:00:00Z')", 1),
        ("TIMESTAMP('2021-01-01T00:00:00.000Z')", 1609459200000),
        ("DATEADD(1609459200000, 1, 'day')", "2021-01-02T00:00:00.000Z"),
        ("DATEADD(TODAY(), 0, 'days') <= NOW()", True),
    ],
)
def test_date_functions(expression: str, expected: Any) -> None:
    """Dates are read from ISO text or epoch ms and given back as ISO text in UTC."""
    assert calc(expression) == expected


@pytest.mark.parametrize(
    ("expression", "position", "message"),
    [
        ("1 +", 4, "ends too early"),
        ("(1 + 2", 7, "expected ')'"),
        ("1 2", 3, "after a complete expression"),
        ("foo(1)", 1, "unknown function 'foo'"),
        ("price * 2", 1, "unknown name 'price'"),
        ("{{$context.body}}.price", 18, "no attribute access"),
        ("'open", 1, "not closed"),
        ("1 # 2", 3, "unexpected character '#'"),
        ("{{ 1 + 2 }}", 1, "not a variable path"),
        ("{{$context", 1, "not closed with }}"),
        ("ROUND(1, 2, 3)", 1, "ROUND takes 1 to 2 arguments, got 3"),
        ("IF(1)", 1, "IF takes 2 or 3 arguments"),
        ("2 ^ 3", 3, "write ** for a power"),
        ("1 + 9 ** 9 ** 9", 7, "too large"),
        ("1e308 * 10", 7, "too large"),
        ("EXP(1000)", 1, "too large"),
        ("REPT('ab', 1e9)", 1, "longer than 100000"),
        ("ROUND('abc')", 1, "ROUND: needs a number, got 'abc'"),
        ("DATE(0, 1, 1)", 1, "the year must be from 1 to 9999"),
        ("DATE(2026, 1, 1e15)", 1, "outside the years 1 to 9999"),
        ("DATEADD(1e300, 1, 'day')", 1, "is not a date within the years 1 to 9999"),
        ("DATEADD('0001-01-01T00:00:00+01:00', 1, 'day')", 1, "is not a date within the years 1 to 9999"),
        ("DATEADD('2026-01-01', 1e300, 'months')", 1, "outside the years 1 to 9999"),
        ("YEAR('yesterday')", 1, "needs a date"),
        ("DATEADD('2026-01-01', 1, 'fortnight')", 1, "unknown unit"),
        ("MID('abc', 0, 1)", 1, "the start must be 1 or more"),
        ("SUMPRODUCT([1], [1, 2])", 1, "same length"),
        ("MAX([])", 1, "at least one number"),
    ],
)
def test_errors_say_what_and_where(expression: str, position: int, message: str) -> None:
    """Every error names its cause and the column (from 1) of the token at fault."""
    error = failure(expression)
    assert str(error).startswith(f"at {position}: ")
    assert message in str(error)


def test_constant_errors_are_found_before_running() -> None:
    """A part without variables is computed at save: `9 ** 9 ** 9` is refused then, not at run time."""
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression("{{$context.body.qty}} + 9 ** 9 ** 9", "formula.js").check_constants()
    compile_expression("{{$context.body.qty}} ** 9 ** 9", "formula.js").check_constants()  # fine until run
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression("{{$context.body.qty}} ** 9 ** 9", "formula.js").evaluate(SCOPE)


def test_only_the_chosen_side_of_if_runs() -> None:
    """IF and `? :` run one side only, so a guard keeps the other side's error from happening."""
    assert calc("IF({{$context.body.qty}} > 0, 1, REPT('x', {{$context.body.qty}} * 1e9))") == 1
    assert calc("true || REPT('x', 1e9)") is True


def test_limits_on_size_nesting_and_steps() -> None:
    """Long text, deep nesting and too many steps are refused with a clear error."""
    assert "longer than 10000" in str(failure("1" * 10_001))
    assert "nests more than 64" in str(failure("(" * 70 + "1" + ")" * 70))
    assert "nests more than 64" in str(failure("-" * 70 + "1"))
    assert "nests more than 64" in str(failure(" + ".join(["1"] * 70)))
    assert "more than 2000 tokens" in str(failure("[" + ", ".join(["1"] * 1500) + "]"))
    big = {"$context": {"body": list(range(200_000))}}
    with pytest.raises(ExpressionError, match="more than 100000 steps"):
        compile_expression("SUM({{$context.body}})", "formula.js").evaluate(big)
    small = Budget(limit=5)
    with pytest.raises(ExpressionError, match="more than 5 steps"):
        compile_expression("1 + 2 + 3 + 4", "formula.js").evaluate({}, small)


def test_text_built_is_bounded() -> None:
    """Joining, repeating or substituting beyond 100,000 characters is an error, not a huge value."""
    scope = {"$context": {"body": "x" * 60_000}}
    with pytest.raises(ExpressionError, match="longer than 100000"):
        compile_expression("{{$context.body}} + {{$context.body}}", "formula.js").evaluate(scope)
    with pytest.raises(ExpressionError, match="longer than 100000"):
        compile_expression("SUBSTITUTE({{$context.body}}, 'x', 'yy')", "formula.js").evaluate(scope)


def test_string_engine_interpolates() -> None:
    """The string engine, as NocoBase's, replaces the variables by their text and returns the text."""
    assert compile_expression("{{$context.body.name}} ordered {{$context.body.qty}}", "string").evaluate(
        SCOPE
    ) == ("Ann ordered 3")


def test_string_escapes_decode_as_javascript() -> None:
    """Escapes in quoted text: \\n, \\t, \\u0041, a surrogate pair, and a lone surrogate made safe."""
    assert calc(r"'a\nb\t\u0041\'' + " + '"\\""') == "a\nb\tA'\""
    assert calc(r"'\ud83d\ude00'") == "\U0001f600"
    assert calc(r"'\ud83d'") == "\ufffd"


def test_function_names_are_case_insensitive() -> None:
    """ROUND, round and Round are the same function, in both engines."""
    assert calc("round(1.25, 1)") == calc("ROUND(1.25, 1)", "math.js") == 1.3
