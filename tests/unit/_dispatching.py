"""Helpers of the dispatcher's unit tests: workflows stored live, and trigger contexts."""

from __future__ import annotations

from typing import Any

from hookline.engine.flows import CompiledFlow, FlowCache
from hookline.exchange import flow_from_json
from hookline.store.sql_store import SqlStore
from hookline.types import JsonObject
from tests._workflows import sync_workflow


def async_workflow(
    *nodes: JsonObject, config: JsonObject | None = None, options: JsonObject | None = None
) -> JsonObject:
    """An asynchronous webhook workflow made of these nodes, with this trigger config."""
    return {**sync_workflow(*nodes, options=options), "sync": False, "config": config or {}}


async def live(store: SqlStore, workflow: JsonObject) -> CompiledFlow:
    """Store the workflow and give its live compiled version, as the webhook route gets it."""
    flow = flow_from_json(workflow)
    await store.add_flow(flow)
    compiled = await FlowCache(store).live(flow.workflow.key)
    assert compiled is not None
    return compiled


def context(body: Any, headers: JsonObject | None = None) -> JsonObject:
    """A trigger context with this body (and headers)."""
    return {"headers": headers or {}, "query": {}, "body": body}
