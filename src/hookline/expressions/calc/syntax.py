"""The parser: tokens to a tree, by precedence climbing (a Pratt parser).

Precedence, loosest first: `? :`, `||`/`or`, `&&`/`and`, `== != === !==`, `< <= > >=`, `+ -`,
`* / %`, the prefix operators `- + ! not`, then the power (`**`, or `^` in math.js), which is
right-associative and binds tighter than a sign on its left (`-2 ** 2` is -4, as in math.js).
The tree is at most MAX_DEPTH levels deep, so evaluating it can never exhaust the stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from hookline.expressions.calc.errors import ExpressionError
from hookline.expressions.calc.functions import Function
from hookline.expressions.calc.library import FUNCTIONS
from hookline.expressions.calc.tokens import Kind, Token, tokenize
from hookline.expressions.templates import Template, compile_template

MAX_DEPTH = 64
"""How deeply an expression may nest (parentheses, calls, chains of operators)."""

_INFIX: Mapping[str, int] = {
    "?": 1,
    "||": 2,
    "or": 2,
    "&&": 3,
    "and": 3,
    "==": 4,
    "!=": 4,
    "===": 4,
    "!==": 4,
    "<": 5,
    "<=": 5,
    ">": 5,
    ">=": 5,
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
    "%": 7,
    "**": 9,
    "^": 9,
}
_RIGHT = frozenset({"**", "^", "?"})
_PREFIX_POWER = 8
_CONSTANTS: Mapping[str, Any] = {"true": True, "false": False, "null": None}
_WORD_OPERATORS = frozenset({"and", "or"})


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, a text, true, false or null written in the expression."""

    value: Any
    position: int
    depth: int = 1
    constant: bool = True


@dataclass(frozen=True, slots=True)
class Variable:
    """A `{{ path }}`: its value is looked up in the scope when the expression runs."""

    template: Template
    position: int
    depth: int = 1
    constant: bool = False


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list written in brackets: `[1, 2, {{x}}]`."""

    items: tuple[Tree, ...]
    position: int
    depth: int
    constant: bool


@dataclass(frozen=True, slots=True)
class Unary:
    """A prefix operator (`-`, `+`, `!`) and its operand."""

    operator: str
    operand: Tree
    position: int
    depth: int
    constant: bool


@dataclass(frozen=True, slots=True)
class Binary:
    """An infix operator and its two operands."""

    operator: str
    left: Tree
    right: Tree
    position: int
    depth: int
    constant: bool


@dataclass(frozen=True, slots=True)
class Conditional:
    """`test ? then : otherwise`, which IF(test, then, otherwise) is too: only one side runs."""

    test: Tree
    then: Tree
    otherwise: Tree
    position: int
    depth: int
    constant: bool


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A call of a function from the documented list."""

    name: str
    function: Function
    arguments: tuple[Tree, ...]
    position: int
    depth: int
    constant: bool


Tree: TypeAlias = Literal | Variable | ListOf | Unary | Binary | Conditional | FunctionCall


def children(tree: Tree) -> tuple[Tree, ...]:
    """The subtrees of a tree, in the order they are written."""
    if isinstance(tree, ListOf):
        return tree.items
    if isinstance(tree, Unary):
        return (tree.operand,)
    if isinstance(tree, Binary):
        return (tree.left, tree.right)
    if isinstance(tree, Conditional):
        return (tree.test, tree.then, tree.otherwise)
    if isinstance(tree, FunctionCall):
        return tree.arguments
    return ()


def parse(text: str, engine: str) -> Tree:
    """The tree of an expression in an engine's syntax; raises ExpressionError with a position."""
    return _Parser(tokenize(text), engine).whole()


def _depth(position: int, *parts: Tree) -> int:
    depth = 1 + max((part.depth for part in parts), default=0)
    if depth > MAX_DEPTH:
        raise ExpressionError(f"the expression nests more than {MAX_DEPTH} levels deep", position)
    return depth


def _constant(*parts: Tree) -> bool:
    return all(part.constant for part in parts)


class _Parser:
    """One pass over a token list; `nesting` bounds the recursion as `_depth` bounds the tree."""

    def __init__(self, tokens: list[Token], engine: str) -> None:
        self.tokens = tokens
        self.engine = engine
        self.index = 0
        self.nesting = 0

    def whole(self) -> Tree:
        tree = self.expression(0)
        token = self.peek()
        if token.kind is not Kind.END:
            raise ExpressionError(f"unexpected {_shown(token)} after a complete expression", token.position)
        return tree

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, operator: str, why: str) -> None:
        token = self.advance()
        if token.kind is not Kind.OPERATOR or token.text != operator:
            raise ExpressionError(f"expected {operator!r} {why}, found {_shown(token)}", token.position)

    def expression(self, floor: int) -> Tree:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExpressionError(
                f"the expression nests more than {MAX_DEPTH} levels deep", self.peek().position
            )
        left = self.prefix()
        while (power := self.infix_power(self.peek())) > floor:
            left = self.infix(self.advance(), left, power)
        self.nesting -= 1
        return left

    def infix_power(self, token: Token) -> int:
        if token.kind is Kind.OPERATOR:
            return _INFIX.get(token.text, 0)
        if token.kind is Kind.NAME and token.text.lower() in _WORD_OPERATORS:
            return _INFIX[token.text.lower()]
        return 0

    def infix(self, token: Token, left: Tree, power: int) -> Tree:
        operator = token.text.lower() if token.kind is Kind.NAME else token.text
        if operator == "^" and self.engine != "math.js":
            raise ExpressionError(
                "in formula.js (JavaScript) ^ is a bitwise xor, which calculations do not have; "
                "write ** for a power",
                token.position,
            )
        if operator == "?":
            then = self.expression(0)
            self.expect(":", "between the two results of ? :")
            otherwise = self.expression(0)
            parts = (left, then, otherwise)
            return Conditional(*parts, token.position, _depth(token.position, *parts), _constant(*parts))
        right = self.expression(power - 1 if operator in _RIGHT else power)
        return Binary(
            operator, left, right, token.position, _depth(token.position, left, right), _constant(left, right)
        )

    def prefix(self) -> Tree:
        token = self.advance()
        if token.kind is Kind.NUMBER:
            return Literal(token.number, token.position)
        if token.kind is Kind.TEXT:
            return Literal(token.text, token.position)
        if token.kind is Kind.VARIABLE:
            return Variable(compile_template(token.text), token.position)
        if token.kind is Kind.NAME:
            return self.name(token)
        if token.kind is Kind.OPERATOR:
            return self.operator(token)
        raise ExpressionError("the expression ends too early", token.position)

    def operator(self, token: Token) -> Tree:
        if token.text == "(":
            inner = self.expression(0)
            self.expect(")", "to close the parenthesis")
            return inner
        if token.text == "[":
            items = self.arguments("]")
            return ListOf(items, token.position, _depth(token.position, *items), _constant(*items))
        if token.text in ("-", "+", "!"):
            return self.unary(token.text, token)
        raise ExpressionError(f"unexpected {_shown(token)}", token.position)

    def unary(self, operator: str, token: Token) -> Tree:
        operand = self.expression(_PREFIX_POWER)
        return Unary(operator, operand, token.position, _depth(token.position, operand), operand.constant)

    def name(self, token: Token) -> Tree:
        word = token.text
        if word.lower() == "not":
            return self.unary("!", token)
        following = self.peek()
        if following.kind is Kind.OPERATOR and following.text == "(":
            self.advance()
            return self.call(token, self.arguments(")"))
        if word.lower() in _CONSTANTS:
            return Literal(_CONSTANTS[word.lower()], token.position)
        raise ExpressionError(
            f"unknown name {word!r}: write variables as {{{{ path }}}} and call functions with ( )",
            token.position,
        )

    def arguments(self, closing: str) -> tuple[Tree, ...]:
        items: list[Tree] = []
        token = self.peek()
        if token.kind is Kind.OPERATOR and token.text == closing:
            self.advance()
            return ()
        while True:
            items.append(self.expression(0))
            token = self.advance()
            if token.kind is Kind.OPERATOR and token.text == closing:
                return tuple(items)
            if token.kind is not Kind.OPERATOR or token.text != ",":
                raise ExpressionError(f"expected ',' or {closing!r}, found {_shown(token)}", token.position)

    def call(self, token: Token, arguments: tuple[Tree, ...]) -> Tree:
        name = token.text.upper()
        position = token.position
        if name == "IF":
            if not 2 <= len(arguments) <= 3:
                raise ExpressionError("IF takes 2 or 3 arguments: IF(test, then, otherwise)", position)
            otherwise = arguments[2] if len(arguments) == 3 else Literal(False, position)
            parts = (arguments[0], arguments[1], otherwise)
            return Conditional(*parts, position, _depth(position, *parts), _constant(*parts))
        function = FUNCTIONS.get(name)
        if function is None:
            raise ExpressionError(f"unknown function {token.text!r} (docs/nodes.md lists them)", position)
        if len(arguments) < function.least or (function.most is not None and len(arguments) > function.most):
            raise ExpressionError(f"{name} takes {_arity(function)}, got {len(arguments)}", position)
        constant = function.pure and _constant(*arguments)
        return FunctionCall(name, function, arguments, position, _depth(position, *arguments), constant)


def _arity(function: Function) -> str:
    if function.most is None:
        return f"at least {function.least} argument{'s' if function.least != 1 else ''}"
    if function.least == function.most:
        return f"{function.least} argument{'s' if function.least != 1 else ''}"
    return f"{function.least} to {function.most} arguments"


def _shown(token: Token) -> str:
    """A token as an error message shows it."""
    if token.kind is Kind.END:
        return "the end of the expression"
    return repr(token.text[:40])
