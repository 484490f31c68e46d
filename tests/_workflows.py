"""Workflow JSON the tests build again and again."""

from __future__ import annotations

from hookline.types import JsonObject


def chain(*kinds: str, sync: bool = False) -> JsonObject:
    """Enabled workflow JSON whose nodes `n0`, `n1`, … of the given types form one chain."""
    nodes = [
        {
            "key": f"n{i}",
            "type": kind,
            "upstream": f"n{i - 1}" if i else None,
            "branchIndex": None,
            "config": {},
        }
        for i, kind in enumerate(kinds)
    ]
    return {"title": "chain", "type": "webhook", "sync": sync, "enabled": True, "config": {}, "nodes": nodes}
