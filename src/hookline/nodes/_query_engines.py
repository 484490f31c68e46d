"""The json-query node's engines, JMESPath and JSONata: compile an expression, run it within limits.

Both engines are trees evaluated step by step; each is hooked so that every step goes through a
`QueryBudget` (time, depth, size of what it built). Single steps that could still explode on their
own are bounded before they run: JMESPath's `to_string` and JSONata's `$string` measure their
argument first, JSONata's `$pad` refuses a width past the string limit, and JSONata regexes run on
RE2, which matches in linear time (no pattern can backtrack for ever; back-references and
look-arounds are not available).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

import jmespath
import re2
from jmespath import exceptions as jmespath_errors
from jmespath import functions as jmespath_functions
from jmespath import visitor as jmespath_visitor
from jsonata import Functions, JException, Jsonata
from jsonata.regex_engine import RegexFlags

from hookline.errors import NodeError
from hookline.nodes._query_limits import DEFAULT_LIMITS, QueryBudget, QueryLimits, QueryTooCostly

ENGINES = ("jmespath", "jsonata")
"""The engines by name; `jmespath` is the default, as in NocoBase."""


def syntax_problem(engine: str, expression: str) -> str | None:
    """The engine's message when `expression` does not compile; None when it does."""
    try:
        _COMPILERS[engine](expression)
    except (jmespath_errors.JMESPathError, JException, UnsupportedRegex) as error:
        return _message(error)
    return None


def run_query(engine: str, expression: str, source: Any, limits: QueryLimits = DEFAULT_LIMITS) -> Any:
    """The value of `expression` over `source`; NodeError when it fails or goes past `limits`."""
    budget = QueryBudget(limits)
    try:
        result = _RUNNERS[engine](expression, source, budget)
    except QueryTooCostly:
        raise
    except RecursionError:
        raise QueryTooCostly("the query nested too deeply (endless recursion?)") from None
    except (jmespath_errors.JMESPathError, JException, ArithmeticError, TypeError, ValueError) as error:
        # The engine's own message: an unknown function, a division by zero, a wrong argument.
        raise NodeError(f"the {engine} query failed: {_message(error)}") from None
    budget.check_result(result)
    return _plain(result)


def _plain(value: Any) -> Any:
    """The result as plain JSON values (JSONata hands back its own list type, and may give a function)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise NodeError("the query's result holds a number JSON cannot carry (infinite or NaN)")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise NodeError(f"the query's result holds a {type(value).__name__}, which is not a JSON value")


def _message(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# -- JMESPath --------------------------------------------------------------------------------


class _BoundedFunctions(jmespath_functions.Functions):
    """JMESPath's functions, with `to_string` measuring its argument before writing it out."""

    budget: QueryBudget

    @jmespath_functions.signature({"types": []})
    def _func_to_string(self, arg: Any) -> str:
        # JMESPath's own to_string, after measuring what it would write out.
        if isinstance(arg, str):
            return arg
        self.budget.check_result(arg)
        return json.dumps(arg, separators=(",", ":"), default=str)


class _BoundedInterpreter(jmespath_visitor.TreeInterpreter):
    """JMESPath's interpreter, checking the budget around every node it visits."""

    def __init__(self, budget: QueryBudget) -> None:
        functions = _BoundedFunctions()
        functions.budget = budget
        super().__init__(jmespath.Options(custom_functions=functions))
        self._budget = budget

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        self._budget.enter()
        value = super().visit(node, *args, **kwargs)
        self._budget.leave(value)
        return value


def _run_jmespath(expression: str, source: Any, budget: QueryBudget) -> Any:
    parsed = jmespath.compile(expression)
    return _BoundedInterpreter(budget).visit(parsed.parsed, source)


# -- JSONata ---------------------------------------------------------------------------------


class UnsupportedRegex(ValueError):
    """A JSONata regex RE2 cannot compile (a syntax error, or a look-around or back-reference)."""


def _re2_engine(pattern: str, flags: RegexFlags) -> Any:
    options = re2.Options()
    options.case_sensitive = not flags.case_insensitive
    options.log_errors = False  # the error is reported as a problem; RE2 would also print it to stderr
    if flags.multiline:
        pattern = f"(?m){pattern}"
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        # Raised while the expression is parsed, so a pattern RE2 cannot run is a syntax problem.
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise UnsupportedRegex(f"/{pattern}/ is not a regular expression RE2 can run: {reason}") from None


def _compile_jsonata(expression: str) -> Jsonata:
    return Jsonata(expression, regex_engine=_re2_engine)


_running = threading.local()
"""The budget of the JSONata query this thread evaluates (queries run in worker threads)."""


class _BoundedJsonataFunctions:
    """Replacements for JSONata functions that could build a huge value in one step."""

    @staticmethod
    def pad(string: str | None, width: int | None, char: str | None) -> str | None:
        """`$pad`, refusing a width past the string limit before it allocates anything."""
        limit: int = _running.budget.limits.string_chars
        if width is not None and abs(width) > limit:
            raise QueryTooCostly(f"$pad to {width} characters is past the limit of {limit}")
        padded: str | None = Functions.pad(string, width, char)
        return padded

    @staticmethod
    def string(arg: Any, prettify: bool | None) -> str | None:
        """`$string`, measuring its argument before writing it out."""
        _running.budget.check_result(arg)
        text: str | None = Functions.string(arg, prettify)
        return text


def _run_jsonata(expression: str, source: Any, budget: QueryBudget) -> Any:
    query = _compile_jsonata(expression)
    frame = query.environment
    frame.set_evaluate_entry_callback(_skipping_parallel(lambda: budget.enter()))
    frame.set_evaluate_exit_callback(_skipping_parallel(lambda value: budget.leave(value)))
    _running.budget = budget
    frame.bind("pad", Jsonata.function("pad", "<s-ns?:s>", _BoundedJsonataFunctions, "pad"))
    frame.bind("string", Jsonata.function("string", "<x-b?:s>", _BoundedJsonataFunctions, "string"))
    return query.evaluate(source)


def _skipping_parallel(check: Callable[..., None]) -> Callable[..., None]:
    """A JSONata evaluate callback that skips parallel calls, as jsonata's own Timebox does."""

    def callback(expression: Any, input: Any, frame: Any, *result: Any) -> None:
        if not frame.is_parallel_call:
            check(*result)

    return callback


_COMPILERS: dict[str, Callable[[str], object]] = {"jmespath": jmespath.compile, "jsonata": _compile_jsonata}
_RUNNERS: dict[str, Callable[[str, Any, QueryBudget], Any]] = {
    "jmespath": _run_jmespath,
    "jsonata": _run_jsonata,
}
