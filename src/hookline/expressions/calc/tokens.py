"""The tokenizer: expression text to a list of tokens, each with its offset in the text.

A `{{ path }}` placeholder is one token holding the parsed path: its value is looked up when the
expression runs and used as a value, so text inside a variable is never read as expression syntax.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from enum import StrEnum

from hookline.expressions.calc.errors import ExpressionError
from hookline.expressions.templates import Placeholder, compile_template

MAX_LENGTH = 10_000
"""The longest expression accepted, in characters."""
MAX_TOKENS = 2_000
"""The most tokens an expression may have."""


class Kind(StrEnum):
    """What a token is."""

    NUMBER = "number"
    TEXT = "text"
    NAME = "name"
    VARIABLE = "variable"
    OPERATOR = "operator"
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text (an operator, a name, the decoded string) and its offset."""

    kind: Kind
    text: str
    position: int
    number: float = 0.0
    placeholder: Placeholder | None = None


# Longest first, so that `**` is not read as two `*` and `===` not as `==` then `=`.
OPERATORS = (
    "===",
    "!==",
    "**",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "<",
    ">",
    "!",
    "?",
    ":",
    "(",
    ")",
    "[",
    "]",
    ",",
)
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
codecs.lookup("utf-16-le")  # load the codec now: a calculation never imports anything


def tokenize(text: str) -> list[Token]:
    """The tokens of an expression, ending with an END token; raises ExpressionError on bad text."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens: list[Token] = []
    position = 0
    while True:
        space = _SPACE.match(text, position)
        if space is not None:
            position = space.end()
        if position >= len(text):
            tokens.append(Token(Kind.END, "", position))
            return tokens
        if len(tokens) >= MAX_TOKENS:
            raise ExpressionError(f"the expression has more than {MAX_TOKENS} tokens", position)
        token = _token(text, position)
        tokens.append(token)
        position = _end_of(text, token)


def _token(text: str, position: int) -> Token:
    """The token starting at `position`."""
    char = text[position]
    if text.startswith("{{", position):
        return _variable(text, position)
    if char in "\"'":
        return Token(Kind.TEXT, _string(text, position), position)
    number = _NUMBER.match(text, position)
    if number is not None:
        return Token(Kind.NUMBER, number.group(), position, number=float(number.group()))
    name = _NAME.match(text, position)
    if name is not None:
        return Token(Kind.NAME, name.group(), position)
    for operator in OPERATORS:
        if text.startswith(operator, position):
            return Token(Kind.OPERATOR, operator, position)
    if char == ".":
        raise ExpressionError("there is no attribute access: write the whole path inside {{ }}", position)
    raise ExpressionError(f"unexpected character {char!r}", position)


def _end_of(text: str, token: Token) -> int:
    """Where the text after a token starts."""
    if token.kind is Kind.VARIABLE:
        return text.index("}}", token.position) + 2
    if token.kind is Kind.TEXT:
        return _string_end(text, token.position)
    return token.position + len(token.text)


def _variable(text: str, position: int) -> Token:
    """A `{{ path }}` (or `{{ path : default }}`) placeholder."""
    end = text.find("}}", position)
    if end < 0:
        raise ExpressionError("a variable opened with {{ is not closed with }}", position)
    source = text[position : end + 2]
    placeholder = compile_template(source).single
    if placeholder is None:
        raise ExpressionError(
            f"{source} is not a variable path such as {{{{$context.body.price}}}}", position
        )
    return Token(Kind.VARIABLE, source, position, placeholder=placeholder)


def _string_end(text: str, position: int) -> int:
    """The offset just after the string literal that starts at `position`."""
    quote = text[position]
    index = position + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == quote:
            return index + 1
        else:
            index += 1
    raise ExpressionError("a text in quotes is not closed", position)


def _string(text: str, position: int) -> str:
    """The value of the string literal at `position`, its escapes decoded as JavaScript does."""
    end = _string_end(text, position) - 1
    chars: list[str] = []
    index = position + 1
    while index < end:
        char = text[index]
        if char != "\\":
            chars.append(char)
            index += 1
            continue
        escaped = text[index + 1]
        if escaped == "u":
            digits = text[index + 2 : index + 6]
            if _HEX4.fullmatch(digits) is None:
                raise ExpressionError("\\u must be followed by four hexadecimal digits", index)
            chars.append(chr(int(digits, 16)))
            index += 6
            continue
        chars.append(_ESCAPES.get(escaped, escaped))
        index += 2
    # \uD83D\uDE00 pairs become one character; a lone surrogate (which JSON cannot store) becomes U+FFFD.
    return "".join(chars).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
