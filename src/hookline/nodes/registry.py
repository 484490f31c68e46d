"""Every node type by its type string; adding a node type is one module plus one line here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hookline.nodes.base import NodeType
from hookline.nodes.calculation import CalculationNode
from hookline.nodes.condition import ConditionNode
from hookline.nodes.delay import DelayNode
from hookline.nodes.end import EndNode
from hookline.nodes.json_query import JsonQueryNode
from hookline.nodes.loop import LoopNode
from hookline.nodes.multi_conditions import MultiConditionsNode
from hookline.nodes.parallel import ParallelNode
from hookline.nodes.request import RequestNode
from hookline.nodes.response import ResponseNode
from hookline.nodes.subflow import SubflowNode
from hookline.nodes.variable import VariableNode

_node_types: dict[str, NodeType] = {}

NODE_TYPES: Mapping[str, NodeType] = MappingProxyType(_node_types)
"""A read-only view of the registered node types, keyed by `type`."""


def register(node_type: NodeType) -> None:
    """Add a node type; registering another one under a type string already taken fails."""
    taken = _node_types.get(node_type.type)
    if taken is not None and taken is not node_type:
        raise ValueError(f"node type {node_type.type!r} is already registered")
    _node_types[node_type.type] = node_type


def unregister(name: str) -> None:
    """Remove a node type (for tests and plugins that unload); an unknown name is ignored."""
    _node_types.pop(name, None)


def node_type(name: str) -> NodeType | None:
    """The node type registered under `name`, or None."""
    return _node_types.get(name)


for _built_in in (
    ConditionNode(),
    MultiConditionsNode(),
    ResponseNode(),
    EndNode(),
    CalculationNode(),
    JsonQueryNode(),
    VariableNode(),
    RequestNode(),
    DelayNode(),
    LoopNode(),
    ParallelNode(),
    SubflowNode(),
):
    register(_built_in)
