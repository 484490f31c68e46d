"""Imports point down: no package of hookline imports one above it, nor one beside it.

Every top-level module or package of `src/hookline` has a layer (ARCHITECTURE.md draws them); a
module may import from its own package or from a lower layer only. A new package must be given its
layer here, which makes its author decide where it sits.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "src" / "hookline"

LAYERS: dict[str, int] = {
    # base: no hookline imports but each other's, lowest first
    "types": 0,
    "ids": 0,
    "networks": 0,
    "ui": 0,
    "errors": 1,
    "header_fields": 1,
    "models": 2,
    "metrics": 3,
    "settings": 3,
    "plugins": 3,
    "metrics_share": 4,  # the metrics' counts shared between processes: above them
    # expressions, answers, storage, outbound HTTP
    "expressions": 4,
    "answers": 5,
    "store": 6,
    "outbound": 6,
    # the trigger and the nodes: beside each other, so neither imports the other
    "trigger": 7,
    "nodes": 7,
    "engine": 8,
    "queue": 9,
    "exchange": 10,
    "admin": 11,
    # what both edges open: the store, caches, dispatcher and workers of one process
    "runtime": 12,
    # the edges
    "api": 13,
    "supervisor": 13,
    "cli": 14,
    "__main__": 15,
    "__init__": 3,  # `hookline` itself: the version and the public records
}
"""Each unit's layer: it may import units of a lower layer only (besides its own modules)."""


def unit(module: str) -> str:
    """The unit a `hookline.…` module belongs to: its top-level package or module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    """The dotted name of a module file under src/."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Every `hookline.…` module a file imports, at any depth (under TYPE_CHECKING too)."""
    yield from imports_of(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def imports_of(source: str, module: str, is_package: bool) -> Iterator[str]:
    """Every `hookline.…` module the source of `module` imports, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("hookline"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.startswith("hookline"):
                yield node.module


def crossings() -> Iterator[tuple[str, str, str]]:
    """(file, its unit, the imported unit) for every import that leaves a unit."""
    for path in sorted(PACKAGE.rglob("*.py")):
        source = unit(module_name(path)) if path != PACKAGE / "__init__.py" else "__init__"
        for imported in imports(path):
            target = unit(imported)
            if target != source:
                yield path.relative_to(PACKAGE).as_posix(), source, target


def test_every_unit_has_a_layer() -> None:
    """A new top-level module or package is given its place in LAYERS."""
    units = {unit(module_name(path)) for path in PACKAGE.rglob("*.py") if path != PACKAGE / "__init__.py"}
    assert units - set(LAYERS) == set()


def test_imports_point_down() -> None:
    """No module imports a unit on its own layer or above."""
    upward = [
        f"{file} ({source}, layer {LAYERS[source]}) imports {target} (layer {LAYERS[target]})"
        for file, source, target in crossings()
        if LAYERS.get(target, 99) >= LAYERS.get(source, -1)
    ]
    assert upward == []


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("from hookline.engine.processor import Processor", "hookline.engine.processor"),
        ("import hookline.queue.worker", "hookline.queue.worker"),
        ("from . import body", "hookline.trigger"),
        ("from .context import build_context", "hookline.trigger.context"),
        ("from ..nodes import base", "hookline.nodes"),
        ("def f():\n    from ..engine import flows", "hookline.engine"),
        ("import json", None),
    ],
)
def test_the_scan_resolves_every_form_of_import(line: str, found: str | None) -> None:
    """Absolute, relative and nested imports, in `hookline.trigger.body`, resolve to what they name."""
    assert list(imports_of(line, "hookline.trigger.body", is_package=False)) == ([found] if found else [])


def test_an_upward_import_would_be_caught() -> None:
    """The rule itself: the trigger importing the engine goes up a layer."""
    [imported] = imports_of("from hookline.engine import flows", "hookline.trigger.body", is_package=False)
    assert LAYERS[unit(imported)] >= LAYERS[unit("hookline.trigger.body")]
