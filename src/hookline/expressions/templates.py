"""`{{ path }}` templates: parse variable paths, resolve them in a scope, render JSON configs."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeAlias

import orjson

from hookline.expressions.numbers import js_number_text
from hookline.types import JsonValue

__all__ = [
    "Path",
    "Placeholder",
    "Renderer",
    "Template",
    "compile_template",
    "compile_value",
    "has_placeholders",
    "parse_path",
    "render",
    "resolve_path",
]

Segment: TypeAlias = str | int
Path: TypeAlias = tuple[Segment, ...]
Renderer: TypeAlias = Callable[[Mapping[str, Any]], JsonValue]
"""A JSON value's `render`, prepared once: called with a scope, it gives what `render` gives."""

# A name is anything but whitespace, path punctuation, braces (they close a placeholder), quotes and
# backslashes (only quoted keys use them) and ':' (it starts a default). So `__import__('os')` is not
# a path: such placeholders stay plain text.
_NAME = r"[^\s.\[\]{}:'\"\\]+"
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
_BRACKET = rf"\[(?:[0-9]+|{_QUOTED})\]"
_PATH = rf"(?:{_NAME}|{_BRACKET})(?:\.{_NAME}|{_BRACKET})*"
_PATH_RE = re.compile(_PATH, re.DOTALL)
_SEGMENT_RE = re.compile(rf"\.?({_NAME})|\[([0-9]+)\]|\[({_QUOTED})\]", re.DOTALL)
_PLACEHOLDER_RE = re.compile(rf"\{{\{{\s*({_PATH})\s*(?::([^{{}}]*))?\}}\}}", re.DOTALL)
# Only canonical numbers are indices, as in JavaScript: `a.01` stays the key "01".
_INDEX_RE = re.compile(r"0|[1-9][0-9]*")
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)


@functools.lru_cache(maxsize=4096)
def parse_path(path: str) -> Path:
    """The segments of a path: `a.b.0.c`, `a.b[0].c` and `a["b"][0]["c"]` all give ("a", "b", 0, "c").

    Raises ValueError when `path` does not follow the grammar.
    """
    if _PATH_RE.fullmatch(path) is None:
        raise ValueError(f"{path!r} is not a variable path")
    return tuple(_segment(match) for match in _SEGMENT_RE.finditer(path))


def _segment(match: re.Match[str]) -> Segment:
    name, index, quoted = match.groups()
    if quoted is not None:
        return _ESCAPE_RE.sub(r"\1", quoted[1:-1])
    text = name if name is not None else index
    return int(text) if _INDEX_RE.fullmatch(text) else text


def resolve_path(value: Any, path: str | Path) -> Any:
    """The value at `path` inside `value`, or None when there is none; never raises, never mutates.

    A name applied to a list maps over its items (`items.id` → the ids, lists among them
    flattened one level), `length` of a list or string is its length, and zero-argument
    callables met on the way (lazy values such as `$system.now`) are called.
    """
    if isinstance(path, str):
        try:
            path = parse_path(path)
        except ValueError:
            return None
    return _walk(value, path)


def _walk(value: Any, path: Path) -> Any:
    if callable(value):
        value = value()
    for segment in path:
        if value is None:
            return None
        # The common case (a dict and a name) without a call.
        value = value.get(segment) if type(value) is dict and type(segment) is str else _step(value, segment)
        if callable(value):
            value = value()
    return value


def _step(value: Any, segment: Segment) -> Any:
    if type(value) is dict and type(segment) is str:  # the common case, checked cheaply first
        return value.get(segment)
    if isinstance(value, Mapping):
        return value.get(segment if isinstance(segment, str) else str(segment))
    if isinstance(value, list | tuple):
        if isinstance(segment, int):
            return value[segment] if segment < len(value) else None
        return len(value) if segment == "length" else _column(value, segment)
    if isinstance(value, str):
        if isinstance(segment, int):
            return value[segment] if segment < len(value) else None
        return len(value) if segment == "length" else None
    return None


def _column(items: list[Any] | tuple[Any, ...], name: str) -> list[Any]:
    """The `name` of every item, with list values spliced in (NocoBase's `appendArrayColumn`)."""
    column: list[Any] = []
    for item in items:
        picked = item.get(name) if isinstance(item, Mapping) else None
        if callable(picked):
            picked = picked()
        if isinstance(picked, list | tuple):
            column.extend(picked)
        else:
            column.append(picked)
    return column


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One `{{ path : default }}`: the parsed path and the default text, if one was given."""

    path: Path
    default: str | None

    def resolve(self, scope: Mapping[str, Any]) -> Any:
        """The value of the path in `scope`, or the default when it resolves to None."""
        value = _walk(scope, self.path)
        return self.default if value is None else value


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template string: literal text and placeholders in order.

    `single` is set when the whole string is one placeholder, which keeps the value's type.
    """

    parts: tuple[str | Placeholder, ...]
    single: Placeholder | None

    def render(self, scope: Mapping[str, Any]) -> JsonValue:
        """The typed value of a single placeholder, otherwise the interpolated text."""
        if self.single is not None:
            return _detached(self.single.resolve(scope))
        return self.render_text(scope)

    def render_text(self, scope: Mapping[str, Any]) -> str:
        """The template with every placeholder replaced by its value as text."""
        return "".join(
            [part if isinstance(part, str) else as_text(part.resolve(scope)) for part in self.parts]
        )


@functools.lru_cache(maxsize=4096)
def compile_template(text: str) -> Template:
    """Split a template string into text and placeholders once; renders of the same string reuse it."""
    whole = _PLACEHOLDER_RE.fullmatch(text)
    if whole is not None:
        placeholder = _placeholder(whole)
        return Template(parts=(placeholder,), single=placeholder)
    parts: list[str | Placeholder] = []
    position = 0
    for match in _PLACEHOLDER_RE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(_placeholder(match))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return Template(parts=tuple(parts), single=None)


def _placeholder(match: re.Match[str]) -> Placeholder:
    path, default = match.groups()
    return Placeholder(parse_path(path), None if default is None else default.strip())


_PLAIN_SCALARS = frozenset({int, float, bool, type(None)})
"""Types whose values render to themselves (exact types: subclasses take the general path)."""


def render(value: JsonValue, scope: Mapping[str, Any]) -> JsonValue:
    """A copy of a JSON value with the placeholders in its strings and object keys resolved."""
    kind = type(value)
    if kind is str:
        return compile_template(value).render(scope) if "{{" in value else value
    # Plain dicts and lists (what JSON configs hold) skip the abstract-class checks, and their
    # constant leaves are copied without a call per leaf; the result is the same.
    if kind is dict:
        return {_render_key(key, scope): _render_item(item, scope) for key, item in value.items()}
    if kind is list:
        return [_render_item(item, scope) for item in value]
    if kind in _PLAIN_SCALARS:
        return value
    return _render_other(value, scope)


def compile_value(value: JsonValue) -> Renderer:
    """`render` of this value as a function of the scope, with the walk over its structure done now.

    For values rendered on every request (a trigger's answer): the function builds the same
    result as `render(value, scope)`, new containers included, without the per-call type checks.
    """
    kind = type(value)
    if kind is str:
        return compile_template(value).render if "{{" in value else _constant(value)
    if kind in _PLAIN_SCALARS:
        return _constant(value)
    if kind is dict and not any(isinstance(key, str) and "{{" in key for key in value):
        entries = tuple((key, compile_value(item)) for key, item in value.items())
        return lambda scope: {key: item(scope) for key, item in entries}
    if kind is list:
        items = tuple(compile_value(item) for item in value)
        return lambda scope: [item(scope) for item in items]
    return functools.partial(render, value)  # templated keys and unusual types: the general walk


def _constant(value: JsonValue) -> Renderer:
    """A renderer of an immutable value."""
    return lambda scope: value


def _render_item(item: Any, scope: Mapping[str, Any]) -> Any:
    """`render` of one member of a container, with constant scalars and text returned directly."""
    kind = type(item)
    if kind in _PLAIN_SCALARS or (kind is str and "{{" not in item):
        return item
    return render(item, scope)


def _render_other(value: Any, scope: Mapping[str, Any]) -> JsonValue:
    """`render` of values that are not plain JSON types: str subclasses, other mappings, tuples."""
    if isinstance(value, str):
        return compile_template(value).render(scope) if "{{" in value else value
    if isinstance(value, Mapping):
        return {_render_key(key, scope): render(item, scope) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, scope) for item in value]
    return value


def _render_key(key: Any, scope: Mapping[str, Any]) -> Any:
    # A key must stay a string, so even a lone placeholder is interpolated as text.
    if isinstance(key, str) and "{{" in key:
        return compile_template(key).render_text(scope)
    return key


def has_placeholders(value: JsonValue) -> bool:
    """Whether any string or object key inside `value` holds a placeholder (else rendering is a no-op)."""
    if isinstance(value, str):
        return "{{" in value and _PLACEHOLDER_RE.search(value) is not None
    if isinstance(value, Mapping):
        return any(has_placeholders(key) or has_placeholders(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(has_placeholders(item) for item in value)
    return False


def _detached(value: Any) -> Any:
    """A plain copy of the containers in `value`, lazy values evaluated, so callers may change it."""
    kind = type(value)
    if kind is str or kind in _PLAIN_SCALARS:
        return value
    if callable(value):
        value = value()
    if isinstance(value, Mapping):
        return {key: _detached(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_detached(item) for item in value]
    return value


def as_text(value: Any) -> str:
    """A value as interpolated text: None → "", true/false, numbers like JavaScript, JSON for containers.

    What a placeholder inside a longer string becomes; nodes that must write a rendered value as
    text (a request's form fields, its query parameters) write it the same way.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return _json_text(value)
    return str(value)


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        # orjson refuses integers wider than 64 bits; the standard library writes them.
        return json.dumps(_detached(value), default=str, ensure_ascii=False, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if callable(value):
        return value()
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)
