"""The test suite's own layout: what tests share lives in helper modules, never in another test module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def imported_modules(source: str, package: str) -> Iterator[str]:
    """The absolute names of the modules that code in `package` imports, or may import, from."""
    for statement in ast.walk(ast.parse(source)):
        if isinstance(statement, ast.Import):
            yield from (alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            base = package.rsplit(".", statement.level - 1)[0] if statement.level else ""
            module = ".".join(part for part in (base, statement.module or "") if part)
            yield module
            # `from tests.unit import test_nodes` imports a module by the name it lists.
            yield from (f"{module}.{alias.name}" for alias in statement.names)


def is_test_module(name: str) -> bool:
    """Whether a dotted name is a test module of this suite (`tests.….test_…`)."""
    parts = name.split(".")
    return parts[0] == "tests" and parts[-1].startswith("test_")


def test_no_module_imports_a_test_module() -> None:
    """Factories, fixtures and helpers come from `_…` modules and conftest files, not `test_…` ones."""
    found = set()
    for path in TESTS.rglob("*.py"):
        package = ".".join(path.relative_to(TESTS.parent).parent.parts)
        for name in imported_modules(path.read_text(encoding="utf-8"), package):
            if is_test_module(name):
                found.add((path.relative_to(TESTS).as_posix(), name))
    assert found == set()


def test_the_check_sees_absolute_relative_and_listed_test_modules() -> None:
    """`from .test_x import …`, `import tests.unit.test_x` and `from tests.unit import test_x` all count."""
    source = (
        "from .test_nodes import calc\n"
        "import tests.unit.test_body\n"
        "from tests.unit import test_auth\n"
        "from tests._factories import NOW\n"
        "from ..integration._admin import PAID\n"
    )
    found = [name for name in imported_modules(source, "tests.unit") if is_test_module(name)]
    assert found == ["tests.unit.test_nodes", "tests.unit.test_body", "tests.unit.test_auth"]
