"""Tests for workflow JSON: importing a file into a Flow and exporting it back.

The contract: docs/reference/workflow-json.md.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
import pytest

from hookline.errors import ConfigError, InvalidWorkflow, Problem
from hookline.exchange import export_order, flow_from_json, flow_to_json, load_flow_file
from hookline.models import Flow

SPEC_EXAMPLE: dict[str, Any] = orjson.loads(
    """
{
  "key": "orders-paid",
  "title": "Order paid",
  "type": "webhook",
  "sync": true,
  "enabled": true,
  "config": {
    "basicAuthentication": {"username": "shop", "password": "s3cret"},
    "request": {
      "headers": [{"key": "X-Request-Id"}],
      "query": [{"key": "source", "alias": "Source"}],
      "body": [{"key": "order.id", "alias": "Order id"}, {"key": "order.status"}]
    },
    "response": {"statusCode": 200, "headers": [], "body": "ok"}
  },
  "options": {"timeout": 5000},
  "nodes": [
    {"key": "paid", "type": "condition", "upstream": null, "branchIndex": null,
     "config": {"rejectOnFalse": false, "engine": "basic",
                "calculation": {"group": {"type": "and", "calculations": [
                  {"calculator": "equal", "operands": ["{{$context.body.order.status}}", "paid"]}]}}}},
    {"key": "ok", "type": "response", "upstream": "paid", "branchIndex": 1,
     "config": {"statusCode": 200, "headers": [{"name": "X-Order", "value": "{{$context.body.order.id}}"}],
                "body": {"ok": true, "id": "{{$context.body.order.id}}"}}},
    {"key": "no", "type": "response", "upstream": "paid", "branchIndex": 0,
     "config": {"statusCode": 400, "body": {"ok": false}}}
  ]
}
"""
)


CONDITION = {"calculation": {"group": {"type": "and", "calculations": []}}}
"""A valid condition config: an empty `and`, always true."""


def example(**changes: Any) -> dict[str, Any]:
    """A deep copy of the example (docs/reference/workflow-json.md#example) with some fields replaced."""
    data = copy.deepcopy(SPEC_EXAMPLE)
    data.update(changes)
    return data


def with_nodes(*extra: dict[str, Any], sync: bool = True) -> dict[str, Any]:
    """The example workflow with more nodes appended."""
    data = example(sync=sync)
    data["nodes"].extend(extra)
    return data


def problems_of(data: Any) -> list[Problem]:
    """The problems InvalidWorkflow lists for this input (fails the test when it imports)."""
    with pytest.raises(InvalidWorkflow) as caught:
        flow_from_json(data)
    return caught.value.problems


def shape(flow: Flow) -> dict[str, Any]:
    """The flow without its ids and timestamps: links are written with keys."""
    keys = {node.id: node.key for node in flow.nodes}
    workflow = flow.workflow
    return {
        "workflow": (workflow.key, workflow.title, workflow.description, workflow.sync, workflow.enabled),
        "config": (workflow.config, workflow.options),
        "nodes": {
            node.key: (
                node.type,
                node.title,
                keys.get(node.upstream_id) if node.upstream_id else None,
                keys.get(node.downstream_id) if node.downstream_id else None,
                node.branch_index,
                node.config,
            )
            for node in flow.nodes
        },
    }


def test_spec_example_round_trips_exactly() -> None:
    """Exporting the imported example workflow (secrets included) gives the same JSON back."""
    assert flow_to_json(flow_from_json(example()), include_secrets=True) == SPEC_EXAMPLE


def test_import_of_an_export_gives_the_same_graph() -> None:
    """Re-importing an export rebuilds the same workflow and links, with new ids."""
    first = flow_from_json(example())
    second = flow_from_json(flow_to_json(first, include_secrets=True))
    assert shape(second) == shape(first)
    assert second.workflow.id != first.workflow.id


def test_import_links_nodes_by_id() -> None:
    """Upstream and downstream ids and branch indexes follow the keys of the file."""
    data = with_nodes({"key": "after", "type": "end", "upstream": "paid", "branchIndex": None, "config": {}})
    flow = flow_from_json(data)
    nodes = {node.key: node for node in flow.nodes}
    assert nodes["paid"].upstream_id is None
    assert nodes["paid"].downstream_id == nodes["after"].id
    assert nodes["ok"].upstream_id == nodes["paid"].id
    assert nodes["ok"].branch_index == 1
    assert nodes["ok"].downstream_id is None
    assert {node.workflow_id for node in flow.nodes} == {flow.workflow.id}
    assert len({node.id for node in flow.nodes} | {flow.workflow.id}) == 5


def test_import_makes_a_new_version_that_is_not_yet_current() -> None:
    """The imported version is not current (the store decides) and has aware UTC timestamps."""
    workflow = flow_from_json(example()).workflow
    assert workflow.current is False
    assert workflow.created_at is not None
    assert workflow.created_at.tzinfo is UTC
    assert workflow.updated_at == workflow.created_at


def test_missing_key_is_generated() -> None:
    """A file without a key gets a fresh webhook key of at least 11 characters of [0-9a-z]."""
    data = example()
    del data["key"]
    first, second = flow_from_json(data).workflow.key, flow_from_json(data).workflow.key
    assert re.fullmatch(r"[0-9a-z]{11,}", first)
    assert first != second


def test_defaults_fill_optional_fields() -> None:
    """Only the title is required: an async, disabled workflow without nodes."""
    workflow = flow_from_json({"title": "Bare"}).workflow
    assert (workflow.type, workflow.sync, workflow.enabled, workflow.config, workflow.options) == (
        "webhook",
        False,
        False,
        {},
        {},
    )
    assert flow_from_json({"title": "Bare"}).nodes == ()


def test_export_omits_empty_optional_fields_and_keeps_given_ones() -> None:
    """Titles and descriptions appear in an export only when they are set."""
    data = example(description="Marks orders paid")
    data["nodes"][0]["title"] = "Is it paid?"
    exported = flow_to_json(flow_from_json(data))
    assert list(exported) == [
        "key",
        "title",
        "description",
        "type",
        "sync",
        "enabled",
        "config",
        "options",
        "nodes",
    ]
    assert list(exported["nodes"][0]) == ["key", "type", "title", "upstream", "branchIndex", "config"]
    assert "title" not in exported["nodes"][1]
    assert "description" not in flow_to_json(flow_from_json(example()))


def test_export_orders_nodes_head_first_then_depth_first() -> None:
    """Whatever the file order, a node comes before its branches, and they before its downstream."""
    nodes = [
        {"key": "tail", "type": "end", "upstream": "paid", "branchIndex": None, "config": {}},
        {"key": "deep", "type": "end", "upstream": "inner", "branchIndex": 0, "config": {}},
        {"key": "no", "type": "end", "upstream": "paid", "branchIndex": 0, "config": {}},
        {"key": "inner", "type": "condition", "upstream": "paid", "branchIndex": 1, "config": CONDITION},
        {"key": "paid", "type": "condition", "upstream": None, "branchIndex": None, "config": CONDITION},
        {"key": "next", "type": "end", "upstream": "inner", "branchIndex": None, "config": {}},
    ]
    flow = flow_from_json({"title": "Order", "nodes": nodes})
    exported = [node["key"] for node in flow_to_json(flow)["nodes"]]
    assert exported == ["paid", "no", "inner", "deep", "next", "tail"]
    assert [node.key for node in export_order(flow.nodes[::-1])] == exported


def test_import_does_not_share_dicts_with_its_input() -> None:
    """Changing the input after import leaves the flow untouched."""
    data = example()
    flow = flow_from_json(data)
    data["config"]["response"]["body"] = "changed"
    data["nodes"][2]["config"]["statusCode"] = 500
    assert flow.workflow.config["response"]["body"] == "ok"
    assert flow_to_json(flow, include_secrets=True) == SPEC_EXAMPLE


@pytest.mark.parametrize(
    ("extra", "where", "words"),
    [
        ({"key": "x", "type": "end", "upstream": None, "branchIndex": None}, "nodes[x]", "second head"),
        ({"key": "x", "type": "end", "upstream": "ghost", "branchIndex": None}, "nodes[x]", "'ghost'"),
        ({"key": "x", "type": "end", "upstream": "paid", "branchIndex": 2}, "nodes[x]", "no branch 2"),
        (
            {"key": "x", "type": "end", "upstream": "paid", "branchIndex": 1},
            "nodes[x]",
            "second head of branch",
        ),
        (
            {"key": "x", "type": "end", "upstream": "ok", "branchIndex": None},
            "nodes[x]",
            "nothing may follow",
        ),
        (
            {"key": "ok", "type": "end", "upstream": "paid", "branchIndex": None},
            "nodes[ok]",
            "used by another",
        ),
        ({"key": "x", "type": "teleport", "upstream": "paid"}, "nodes[x]", "unknown node type"),
    ],
)
def test_bad_graphs_are_rejected_naming_the_node(extra: dict[str, Any], where: str, words: str) -> None:
    """Each shape the graph rules refuse raises InvalidWorkflow with a problem at the offending node.

    The rules: docs/reference/workflow-json.md#nodes.
    """
    problems = problems_of(with_nodes(extra))
    assert any(p.where == where and words in p.message for p in problems), problems


def test_two_downstreams_of_one_node_are_rejected() -> None:
    """Only one node may follow a node on its chain."""
    first = {"key": "x", "type": "end", "upstream": "paid", "branchIndex": None, "config": {}}
    second = {"key": "y", "type": "end", "upstream": "paid", "branchIndex": None, "config": {}}
    problems = problems_of(with_nodes(first, second))
    assert problems == [Problem("nodes[y]", "a second downstream of 'paid': 'x' already follows it")]


def test_a_cycle_is_rejected_naming_its_nodes() -> None:
    """Nodes that follow each other in a circle are named."""
    first = {"key": "x", "type": "condition", "upstream": "y", "config": CONDITION}
    second = {"key": "y", "type": "condition", "upstream": "x", "config": CONDITION}
    problems = problems_of(with_nodes(first, second))
    assert sorted(p.where for p in problems) == ["nodes[x]", "nodes[y]"]
    assert all("cycle" in p.message for p in problems)


def test_response_node_in_async_workflow_is_rejected() -> None:
    """The example workflow made asynchronous is refused at both Response nodes."""
    problems = problems_of(example(sync=False))
    message = "Response nodes can only be used in synchronous workflows"
    assert problems == [Problem("nodes[ok]", message), Problem("nodes[no]", message)]


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ((), "current"),
        (("config",), "config.current"),
        (("config", "request"), "config.request.current"),
        (("nodes", 0), "nodes[paid].current"),
    ],
)
def test_unknown_fields_are_rejected(path: tuple[Any, ...], where: str) -> None:
    """An unexpected field at any level is named."""
    data = example()
    target: Any = data
    for step in path:
        target = target[step]
    target["current"] = True
    assert Problem(where, "unknown field 'current'") in problems_of(data)


def test_node_config_problems_are_placed_under_the_node() -> None:
    """A node type's own config problems get the node's key in front."""
    data = example()
    data["nodes"][2]["config"]["statusCode"] = 99
    problems = problems_of(data)
    assert [p.where for p in problems] == ["nodes[no].config.statusCode"]


def test_every_problem_is_reported_at_once() -> None:
    """Problems of the header, the trigger config, the options and the nodes come together."""
    data = example(key="-bad", title="", type="cron", sync="yes", options={"timeout": -1})
    data["config"]["response"]["statusCode"] = 700
    data["nodes"][1]["branchIndex"] = "1"
    data["nodes"].append({"type": "end", "upstream": "paid"})
    wheres = {p.where for p in problems_of(data)}
    assert {
        "key",
        "title",
        "type",
        "sync",
        "options.timeout",
        "config.response.statusCode",
        "nodes[ok].branchIndex",
        "nodes[3].key",
    } <= wheres


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "has space"),
        ("key", "x" * 65),
        ("key", 12),
        ("title", None),
        ("description", 3),
        ("enabled", 1),
        ("nodes", {}),
        ("config", []),
        ("options", "fast"),
    ],
)
def test_bad_workflow_fields_are_named(field: str, value: Any) -> None:
    """A wrong value of a workflow field is reported at that field."""
    assert [p.where for p in problems_of(example(**{field: value}))] == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", None),
        ("key", "a b"),
        ("type", 3),
        ("title", 3),
        ("upstream", 5),
        ("branchIndex", True),
        ("config", []),
    ],
)
def test_bad_node_fields_are_named(field: str, value: Any) -> None:
    """A wrong value of a node field is reported at that field of the node."""
    data = example()
    data["nodes"][2][field] = value
    where = "nodes[2]" if field == "key" else "nodes[no]"
    assert f"{where}.{field}" in {p.where for p in problems_of(data)}


def test_non_object_input_is_rejected() -> None:
    """A workflow file must hold a JSON object."""
    assert problems_of([1, 2]) == [Problem("", "a workflow must be a JSON object")]
    assert problems_of(with_nodes("not a node")) == [Problem("nodes[3]", "must be an object")]


def test_load_flow_file_reads_json(tmp_path: Path) -> None:
    """A workflow file on disk imports like its JSON."""
    path = tmp_path / "flow.json"
    path.write_bytes(orjson.dumps(SPEC_EXAMPLE))
    assert flow_to_json(load_flow_file(path), include_secrets=True) == SPEC_EXAMPLE


def test_load_flow_file_reports_a_missing_file(tmp_path: Path) -> None:
    """An unreadable file is a ConfigError that names it."""
    with pytest.raises(ConfigError, match=r"missing\.json"):
        load_flow_file(tmp_path / "missing.json")


def test_load_flow_file_reports_text_that_is_not_json(tmp_path: Path) -> None:
    """A file that is not JSON is an InvalidWorkflow that says so."""
    path = tmp_path / "flow.json"
    path.write_text("key: not json", encoding="utf-8")
    with pytest.raises(InvalidWorkflow, match="is not valid JSON"):
        load_flow_file(path)
