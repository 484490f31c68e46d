"""The evaluator: walks a parsed tree over a scope, one budgeted step per node."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hookline.expressions.calc import values
from hookline.expressions.calc.functions import Budget, Call
from hookline.expressions.calc.syntax import Binary, Conditional, FunctionCall, Literal, Tree, Unary, Variable
from hookline.expressions.calculators import gt, gte, loose_equal, lt, lte, not_equal

_COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": loose_equal,
    "!=": not_equal,
    "===": values.strict_equal,
    "!==": lambda left, right: not values.strict_equal(left, right),
    "<": lt,
    "<=": lte,
    ">": gt,
    ">=": gte,
}


class Evaluator:
    """Evaluates trees of one engine over one scope, charging one budget."""

    def __init__(self, engine: str, scope: Mapping[str, Any], budget: Budget) -> None:
        self.engine = engine
        self.scope = scope
        self.budget = budget

    def run(self, tree: Tree) -> Any:
        """The value of a tree (not yet made a JSON result: see `values.result_value`)."""
        self.budget.charge(1, tree.position)
        if isinstance(tree, Literal):
            return tree.value
        if isinstance(tree, Variable):
            return tree.template.render(self.scope)
        if isinstance(tree, Binary):
            return self.binary(tree)
        if isinstance(tree, Conditional):
            return self.run(tree.then if values.truthy(self.run(tree.test)) else tree.otherwise)
        if isinstance(tree, FunctionCall):
            arguments = [self.run(argument) for argument in tree.arguments]
            call = Call(tree.name, tree.position, self.engine, self.budget)
            return tree.function.implementation(call, arguments)
        if isinstance(tree, Unary):
            return self.unary(tree)
        return [self.run(item) for item in tree.items]

    def unary(self, tree: Unary) -> Any:
        """`-x`, `+x` and `!x` (also written `not x`)."""
        operand = self.run(tree.operand)
        if tree.operator == "!":
            return not values.truthy(operand)
        return values.negate(operand) if tree.operator == "-" else values.number(operand)

    def binary(self, tree: Binary) -> Any:
        """An infix operator; `&&`, `||`, `and` and `or` run their right side only when needed."""
        operator = tree.operator
        left = self.run(tree.left)
        if operator in ("&&", "||", "and", "or"):
            return self.logical(operator, left, tree.right)
        right = self.run(tree.right)
        comparison = _COMPARISONS.get(operator)
        if comparison is not None:
            return comparison(left, right)
        return self.arithmetic(operator, left, right, tree.position)

    def logical(self, operator: str, left: Any, right: Tree) -> Any:
        """JavaScript's `&&`/`||` give one of their operands; `and`/`or` (math.js) give a boolean."""
        decided = values.truthy(left) if operator in ("||", "or") else not values.truthy(left)
        if operator in ("&&", "||"):
            return left if decided else self.run(right)
        return values.truthy(left) if decided else values.truthy(self.run(right))

    def arithmetic(self, operator: str, left: Any, right: Any, position: int) -> Any:
        """`+ - * / %` and the power; `+` joins texts in formula.js and `%` is math.js's mod there."""
        if operator == "+":
            return values.add(left, right, joins_text=self.engine != "math.js", position=position)
        if operator == "-":
            return values.subtract(left, right, position)
        if operator == "*":
            return values.multiply(left, right, position)
        if operator == "/":
            return values.divide(left, right)
        if operator == "%":
            return values.modulo(left, right) if self.engine == "math.js" else values.remainder(left, right)
        return values.power(left, right, position)
