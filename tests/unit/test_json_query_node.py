"""The json-query node: its config checks, both engines, the result's model, and the cost limits."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hookline.errors import NodeError
from hookline.models import JobStatus
from hookline.nodes._query_engines import run_query
from hookline.nodes._query_limits import QueryLimits, QueryTooCostly, fits
from hookline.nodes.json_query import JsonQueryNode, apply_model, model_fields
from hookline.nodes.registry import node_type
from tests.unit._nodes import FakeContext

ORDER = {
    "id": 7,
    "customer": {"name": "Ada", "email": "ada@example.com"},
    "items": [
        {"sku": "a", "price": 5, "qty": 2},
        {"sku": "b", "price": 20, "qty": 1},
        {"sku": "c", "price": 12, "qty": 3},
    ],
}
CTX = FakeContext({"$context": {"body": ORDER}})
NODE = JsonQueryNode()
SMALL = QueryLimits(seconds=0.5, depth=50, string_chars=10_000, list_items=1_000, result_size=10_000)


# An object that shares its halves 14 levels deep: small in memory, 2**14 times larger written out.
SHARED_OBJECT = "; ".join(['$v := {"k": "0123456789"}'] + ['$v := {"l": $v, "r": $v}'] * 14)


async def run(config: dict[str, Any]) -> Any:
    """Run the node with the order as `$context.body`; its result (it must resolve)."""
    outcome = await NODE.run(config, CTX)
    assert outcome.status is JobStatus.RESOLVED
    return outcome.result


def test_json_query_is_registered() -> None:
    """The registry knows the node under `json-query`."""
    assert isinstance(node_type("json-query"), JsonQueryNode)


@pytest.mark.parametrize(
    ("engine", "expression", "expected"),
    [
        ("jmespath", "items[?price > `10`].sku", ["b", "c"]),
        ("jmespath", "sum(items[*].price)", 37),
        ("jsonata", "items[price > 10].sku", ["b", "c"]),
        ("jsonata", "$sum(items.(price * qty))", 66),
        ("jsonata", "$match(customer.email, /@(.+)$/).groups[0]", "example.com"),
    ],
)
async def test_each_engine_queries_the_rendered_source(engine: str, expression: str, expected: Any) -> None:
    """JMESPath and JSONata both run over the source rendered from the scope."""
    config = {"engine": engine, "source": "{{$context.body}}", "expression": expression}
    assert await run(config) == expected


async def test_jmespath_is_the_default_engine() -> None:
    """Without `engine` the expression is JMESPath (backquoted literals are JMESPath-only)."""
    assert await run({"source": "{{$context.body}}", "expression": "items[?qty > `1`] | length(@)"}) == 2


async def test_model_maps_each_item_of_a_list_result() -> None:
    """A list result becomes a list of objects with the model's fields; no alias uses the path, dots as _."""
    config = {
        "engine": "jsonata",
        "source": "{{$context.body}}",
        "expression": "items[price > 10]",
        "model": [{"path": "sku", "alias": "code"}, {"path": "price"}],
    }
    assert await run(config) == [{"code": "b", "price": 20}, {"code": "c", "price": 12}]


async def test_model_maps_an_object_result_with_nested_paths() -> None:
    """An object result becomes one object; a nested path without alias is named with underscores."""
    config = {"source": "{{$context.body}}", "expression": "@", "model": [{"path": "customer.name"}]}
    assert await run(config) == {"customer_name": "Ada"}


def test_model_leaves_scalars_and_maps_non_objects_in_a_list_to_empty_objects() -> None:
    """As NocoBase: a number stays a number; a list item that is not an object has no fields."""
    fields = model_fields([{"path": "a"}])
    assert apply_model(3, fields) == 3
    assert apply_model([{"a": 1}, 2], fields) == [{"a": 1}, {}]


def test_a_valid_config_has_no_problems() -> None:
    """Engine, source, a compiling expression and a model pass."""
    config = {
        "engine": "jsonata",
        "source": "{{$context.body}}",
        "expression": "a.b",
        "model": [{"path": "x"}],
    }
    assert NODE.check(config) == []


@pytest.mark.parametrize(
    ("config", "where", "words"),
    [
        ({"source": 1, "expression": "a[?"}, "config.expression", "Incomplete expression"),
        ({"engine": "jsonata", "source": 1, "expression": "a[b"}, "config.expression", "Expected ]"),
        ({"engine": "jsonpath", "source": 1, "expression": "a"}, "config.engine", '"jmespath", "jsonata"'),
        (
            {"engine": "jsonata", "source": 1, "expression": '$match("a", /(?=a)/)'},
            "config.expression",
            "RE2",
        ),
        ({"expression": "a"}, "config.source", "is required"),
        ({"source": 1, "expression": " "}, "config.expression", "is required"),
        ({"source": 1, "expression": "a", "model": {}}, "config.model", "must be a list"),
        ({"source": 1, "expression": "a", "model": [{"path": "a b"}]}, "config.model[0].path", "not a path"),
        (
            {"source": 1, "expression": "a", "model": [{"path": "a", "alias": 3}]},
            "config.model[0].alias",
            "name",
        ),
        (
            {"source": 1, "expression": "a", "model": [{"path": "a.b"}, {"path": "c", "alias": "a_b"}]},
            "config.model[1]",
            "second",
        ),
    ],
)
def test_bad_configs_name_their_field(config: dict[str, Any], where: str, words: str) -> None:
    """Each problem sits at its field, with the engine's own message for a syntax error."""
    problems = NODE.check(config)
    assert [p.where for p in problems] == [where]
    assert words in problems[0].message


async def test_a_failing_query_is_a_node_error() -> None:
    """A run-time failure (an unknown function) is a NodeError with the engine's message."""
    with pytest.raises(NodeError, match="Unknown function"):
        await NODE.run({"source": {}, "expression": "nope(@)"}, CTX)


@pytest.mark.parametrize(
    ("engine", "expression", "words"),
    [
        ("jsonata", "($f := function($x){ $f($x + 1) }; $f(1))", "longer than 0.5 s"),
        ("jsonata", "($f := function($x){ 1 + $f($x + 1) }; $f(1))", "nested deeper than 50"),
        ("jsonata", '$pad("x", 1000000000)', "past the limit"),
        (
            "jsonata",
            '($d := function($s, $n){ $n = 0 ? $s : $d($s & $s, $n - 1) }; $d("ab", 40))',
            "string longer",
        ),
        ("jsonata", "[1..5000]", "list longer"),
        ("jsonata", f"({SHARED_OBJECT}; $string($v))", "larger than"),
        ("jmespath", " | ".join(["join('', [@, @])"] * 40), "string longer"),
        ("jmespath", " | ".join(["[@, @]"] * 40), "larger than"),
        ("jmespath", " | ".join(["[@, @]"] * 40) + " | to_string(@)", "larger than"),
    ],
)
def test_runaway_queries_are_stopped_by_their_limits(engine: str, expression: str, words: str) -> None:
    """Endless loops, deep recursion and values that double on every step stop with a clear error."""
    started = time.monotonic()
    with pytest.raises(QueryTooCostly, match=words):
        run_query(engine, expression, "ab", SMALL)
    assert time.monotonic() - started < 2


def test_regexes_run_in_linear_time() -> None:
    """A pattern that backtracks exponentially in Python's `re` answers at once on RE2."""
    started = time.monotonic()
    assert run_query("jsonata", "$contains($, /(a+)+$/)", "a" * 5_000 + "!", SMALL) is False
    assert time.monotonic() - started < 1


def test_results_that_are_not_json_are_refused() -> None:
    """A JSONata function or an infinite JMESPath number cannot be a job's result."""
    with pytest.raises(NodeError, match="not a JSON value"):
        run_query("jsonata", "function($x){ $x }", {})
    with pytest.raises(NodeError, match="infinite"):
        run_query("jmespath", "to_number('1e999')", {})


def test_fits_stops_counting_a_shared_value_early() -> None:
    """A list shared 2**40 times over is measured in a bounded number of steps."""
    value: Any = ["x"]
    for _ in range(40):
        value = [value, value]
    assert not fits(value, 1_000)
    assert fits({"ab": ["cd", 1]}, 8)
    assert not fits({"ab": ["cd", 1]}, 7)
