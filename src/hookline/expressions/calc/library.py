"""Every function a calculation may call, by upper-case name (IF is syntax: see `syntax`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hookline.expressions.calc.dates import DATES
from hookline.expressions.calc.functions import BASIC, Function

FUNCTIONS: Mapping[str, Function] = MappingProxyType({**BASIC, **DATES})
"""The documented function list (docs/nodes.md); a name not here is refused when the workflow is saved."""
