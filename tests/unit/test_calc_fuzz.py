"""Fuzzing the calculation evaluator: no input runs code, opens a file, runs unbounded or crashes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hookline.expressions.calc import ENGINES, FUNCTIONS, Budget, ExpressionError, compile_expression
from hookline.expressions.calc.values import MAX_STEPS, MAX_TEXT

# Audit events a calculation must never cause: code compiled or run, a module imported, a file or
# a socket opened, a process started.
_FORBIDDEN = ("exec", "compile", "import", "open", "os.", "subprocess.", "socket.", "ctypes.", "shutil.")
_seen: list[str] = []
_watching = False


def _audit(event: str, _args: tuple[Any, ...]) -> None:
    if _watching and event.startswith(_FORBIDDEN):
        _seen.append(event)


sys.addaudithook(_audit)  # an audit hook cannot be removed; it records only while `_watching`


@contextmanager
def _watched() -> Iterator[None]:
    """Record the forbidden audit events raised inside the block."""
    global _watching
    _seen.clear()
    _watching = True
    try:
        yield
    finally:
        _watching = False


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=12,
)
SCOPES = st.fixed_dictionaries({"$context": st.dictionaries(st.sampled_from("abc"), JSON_VALUES, max_size=3)})

SYNTAX = "0123456789.eE+-*/%^!<>=&|?:()[],'\"\\{} \n abcdefxyzIFROUNDSUMREPTnotandor$context"
TEXTS = st.text(alphabet=SYNTAX, max_size=80) | st.text(max_size=40)

_LEAVES = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False)
    .map(repr)
    .filter(lambda text: "e" not in text or "." in text),
    st.sampled_from(["1e308", "-1e300", "1e15", "9", "0", "0.5", "true", "false", "null", "''", "'text'"]),
    st.sampled_from(['"2026-01-31"', "'0001-01-01T00:00:00+01:00'", "'months'", "'day'", "'years'"]),
    st.sampled_from(["{{$context.a}}", "{{$context.b.a}}", "{{$context.c}}", "{{$context.a : 3}}"]),
)
_BINARY = [
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "==",
    "!=",
    "===",
    "!==",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "and",
    "or",
]


def _composite(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(inner, st.sampled_from(_BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    unary = st.tuples(st.sampled_from(["-", "+", "!", "not "]), inner).map("".join)
    ternary = st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})")
    listed = st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]")
    calls = st.tuples(st.sampled_from([*sorted(FUNCTIONS), "IF"]), st.lists(inner, max_size=3)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"
    )
    return binary | unary | ternary | listed | calls


TREES = st.recursive(_LEAVES, _composite, max_leaves=25)


def _outcome(text: str, engine: str, scope: dict[str, Any]) -> None:
    """Compile, check and run; only ExpressionError may come out, and every bound must hold."""
    budget = Budget()
    result, position = None, 0
    with _watched():
        try:
            expression = compile_expression(text, engine)
            expression.check_constants()
            result = expression.evaluate(scope, budget)
        except ExpressionError as error:
            position = error.position
    assert _seen == [], f"{text!r} caused {_seen}"
    assert 0 <= position <= max(len(text), 10_000)
    assert budget.steps <= MAX_STEPS + 1
    json.dumps(result, allow_nan=False)  # the result can be stored as JSON
    if isinstance(result, str):
        assert len(result) <= MAX_TEXT


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.sampled_from(ENGINES), SCOPES)
def test_random_text_is_refused_or_computed_safely(text: str, engine: str, scope: dict[str, Any]) -> None:
    """Any text, in any engine, over any variables: a JSON result or an ExpressionError, within the bounds."""
    _outcome(text, engine, scope)


@settings(max_examples=400, deadline=None)
@given(TREES, st.sampled_from(ENGINES[:2]), SCOPES)
def test_random_valid_trees_are_computed_safely(text: str, engine: str, scope: dict[str, Any]) -> None:
    """Random well-formed expressions over random values stay within the bounds and never crash."""
    _outcome(text, engine, scope)


def test_the_audit_hook_would_see_a_file_being_opened() -> None:
    """The watch works: opening a file inside it is recorded (so an empty record means something)."""
    with _watched(), open(__file__, encoding="utf-8"):
        pass
    assert "open" in _seen
