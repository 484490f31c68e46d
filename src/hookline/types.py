"""Shared type aliases: JSON values as they travel through configs, scopes and results."""

from __future__ import annotations

from typing import Any, TypeAlias

JsonValue: TypeAlias = Any
"""Any value that orjson can encode: dict, list, str, int, float, bool or None."""

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object."""
