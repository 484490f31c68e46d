"""What the node tests share: a node context over a fixed scope, and basic calculation configs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hookline.expressions.templates import render
from hookline.models import Node, Workflow
from hookline.types import JsonObject, JsonValue


@dataclass
class FakeContext:
    """A NodeContext over a fixed scope that renders with the real template engine."""

    scope: Mapping[str, Any]
    workflow: Workflow = field(default_factory=lambda: Workflow(id=1, key="wf", title="Test", sync=True))
    node: Node = field(default_factory=lambda: Node(id=1, workflow_id=1, key="n1", type="test"))

    def render(self, value: JsonValue) -> JsonValue:
        """Resolve placeholders against the scope."""
        return render(value, self.scope)


def calc(calculator: str, a: Any, b: Any) -> JsonObject:
    """An `and` group holding one calculation item."""
    return {"group": {"type": "and", "calculations": [{"calculator": calculator, "operands": [a, b]}]}}


PAID = calc("equal", "{{$context.body.order.status}}", "paid")
"""True for the test body (its order is paid)."""
UNPAID = calc("equal", "{{$context.body.order.status}}", "open")
"""False for the test body."""
BROKEN = calc("includes", "{{$context.body.missing}}", "x")
"""Cannot be computed: it reads a value the body lacks."""
