"""Safe calculations over workflow variables, in the syntax of NocoBase's engines.

A small parser of its own rather than Python's `ast` or an `eval` sandbox: nothing in an expression
can reach a Python object, a file or the network, every value follows JavaScript's rules (as the
NocoBase workflows hookline imports expect), and the cost is bounded by construction: the text, the
tokens, the nesting, the texts built and the steps taken all have limits, and running past one is
an `ExpressionError` with the position at fault, never a hang.

    tokens (tokenize) → syntax (parse, a tree) → evaluator (walk it over a scope)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookline.expressions.calc import values
from hookline.expressions.calc.errors import ExpressionError
from hookline.expressions.calc.evaluator import Evaluator
from hookline.expressions.calc.functions import Budget
from hookline.expressions.calc.library import FUNCTIONS
from hookline.expressions.calc.syntax import Tree, children, parse
from hookline.expressions.templates import compile_template
from hookline.types import JsonValue

__all__ = [
    "ENGINES",
    "FUNCTIONS",
    "Budget",
    "Expression",
    "ExpressionError",
    "compile_expression",
]

ENGINES = ("math.js", "formula.js", "string")
"""The engines a calculation may name; math.js is NocoBase's default."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression of one engine; `tree` is None for the string engine (plain interpolation)."""

    engine: str
    text: str
    tree: Tree | None

    def evaluate(self, scope: Mapping[str, Any], budget: Budget | None = None) -> JsonValue:
        """The expression's value over `scope`, as JSON; raises ExpressionError."""
        if self.tree is None:
            return values.built(compile_template(self.text).render_text(scope), 0)
        value = Evaluator(self.engine, scope, budget or Budget()).run(self.tree)
        return values.result_value(value)

    def check_constants(self) -> None:
        """Compute every part that depends on no variable and no clock, so its errors show at save.

        `9 ** 9 ** 9` or `REPT("x", 1e9)` are refused when the workflow is saved, not when it runs.
        """
        if self.tree is not None:
            _fold(self.tree, Evaluator(self.engine, {}, Budget()))


def _fold(tree: Tree, evaluator: Evaluator) -> None:
    if tree.constant:
        evaluator.run(tree)
        return
    for child in children(tree):
        _fold(child, evaluator)


@functools.lru_cache(maxsize=1024)
def compile_expression(text: str, engine: str) -> Expression:
    """Parse an expression once (cached); raises ExpressionError, or ValueError for an unknown engine."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    return Expression(engine, text, None if engine == "string" else parse(text, engine))
