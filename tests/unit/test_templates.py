"""Tests for `{{ path }}` templates: paths, resolution and rendering (docs/reference/templates.md)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.expressions.templates import (
    compile_template,
    compile_value,
    has_placeholders,
    parse_path,
    render,
    resolve_path,
)

SCOPE: dict[str, Any] = {
    "$context": {
        "headers": {"x-request-id": "req-1", "content-type": "application/json"},
        "query": {"page": "2"},
        "body": {
            "order": {"id": 42, "status": "paid", "total": 99.5, "paid": True, "note": None},
            "items": [
                {"id": 1, "tags": ["a", "b"], "qty": 1.0},
                {"id": 2, "tags": ["c"]},
                {"name": "no id"},
            ],
            "matrix": [[1, 2], [3, 4]],
            "x.y": "dotted key",
            "a b": "spaced key",
            "0": "zero key",
            "01": "leading zero key",
            "body_$0": "odd name",
            "empty": [],
            "ratio": 0.00001,
        },
    },
    "$jobsMapByNodeKey": {"n1": {"rows": [{"title": "t1"}, {"title": "t2"}]}, "n2": 7},
    "$scopes": {"loop": {"item": {"sku": "S"}, "index": 0, "length": 3}},
    "$env": {"REGION": "eu"},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{$context.body.order}}", SCOPE["$context"]["body"]["order"]),
        ("{{$context.body.order.id}}", 42),
        ("{{$context.body.order.total}}", 99.5),
        ("{{$context.body.order.paid}}", True),
        ("{{$context.body.order.note}}", None),
        ("{{$context.body.matrix}}", [[1, 2], [3, 4]]),
        ("{{ $context.body.order.status }}", "paid"),
        ("{{\n\t$jobsMapByNodeKey.n2 \n}}", 7),
    ],
)
def test_single_placeholder_keeps_the_type(template: str, expected: Any) -> None:
    """A string that is exactly one placeholder gives the value itself, with its type."""
    assert render(template, SCOPE) == expected
    assert type(render(template, SCOPE)) is type(expected)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Order {{$context.body.order.id}} is {{$context.body.order.status}}", "Order 42 is paid"),
        (" {{$context.body.order.id}}", " 42"),
        ("{{$context.body.order.id}}{{$context.body.order.id}}", "4242"),
        ("note=[{{$context.body.order.note}}]", "note=[]"),
        ("paid={{$context.body.order.paid}}", "paid=true"),
        ("qty={{$context.body.items.0.qty}}", "qty=1"),
        ("total={{$context.body.order.total}}", "total=99.5"),
        ("ratio={{$context.body.ratio}}", "ratio=0.00001"),
        ("o={{$context.body.order}}", 'o={"id":42,"status":"paid","total":99.5,"paid":true,"note":null}'),
        ("m={{$context.body.matrix}}", "m=[[1,2],[3,4]]"),
        ("region {{ $env.REGION }}!", "region eu!"),
    ],
)
def test_mixed_text_interpolates_values_as_text(template: str, expected: str) -> None:
    """Text around placeholders gets each value as text: null empty, JSON for containers."""
    assert render(template, SCOPE) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ $context.body.missing : n/a }}", "n/a"),
        ("{{$context.body.order.note:none}}", "none"),
        ("{{ $context.body.order.id : 0 }}", 42),
        ("{{ $context.body.missing : http://example.com/a?b=c }}", "http://example.com/a?b=c"),
        ("{{ $context.body.missing : }}", ""),
        ("status: {{ $context.body.missing : unknown }}.", "status: unknown."),
        ('{{ $context.body["x:y"] : quoted colon is part of the path }}', "quoted colon is part of the path"),
    ],
)
def test_default_applies_when_the_path_gives_nothing(template: str, expected: Any) -> None:
    """`{{ path : default }}` uses the trimmed text after the first colon when the value is None."""
    assert render(template, SCOPE) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$context.body.items.0.id", 1),
        ("$context.body.items[1].id", 2),
        ("$context.body.matrix[1][0]", 3),
        ("$context.body.matrix.1.1", 4),
        ('$context.body["x.y"]', "dotted key"),
        ("$context.body['a b']", "spaced key"),
        ("$context.headers.x-request-id", "req-1"),
        ("$context.body.body_$0", "odd name"),
        ("$context.body.0", "zero key"),
        ("$context.body.01", "leading zero key"),
        ("$context.body.items.9.id", None),
        ("$context.body.order.status.0", "p"),
        ('$scopes["loop"].item.sku', "S"),
    ],
)
def test_paths_are_dotted_or_bracketed(path: str, expected: Any) -> None:
    """Indices work dotted and bracketed; quoted keys hold dots and spaces; `.0` on a dict is a key."""
    assert resolve_path(SCOPE, path) == expected
    assert render("{{ " + path + " }}", SCOPE) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$context.body.items.id", [1, 2, None]),
        ("$context.body.items.tags", ["a", "b", "c", None]),
        ("$context.body.items.id.1", 2),
        ("$jobsMapByNodeKey.n1.rows.title", ["t1", "t2"]),
        ("$context.body.items.length", 3),
        ("$context.body.empty.length", 0),
        ("$context.body.empty.id", []),
        ("$context.body.order.status.length", 4),
        ("$scopes.loop.length", 3),
    ],
)
def test_a_name_on_a_list_maps_over_its_items(path: str, expected: Any) -> None:
    """`items.id` lists every item's id, splicing list values in; `length` counts a list or string."""
    assert resolve_path(SCOPE, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "$context.nothing.here",
        "$context.body.order.id.deeper",
        "$context.body.order.paid.x",
        "$nowhere",
        "$context.body.keys",
        "$context.body.order.status.upper",
        "$context.__class__",
        "$context.body[bad",
    ],
)
def test_a_missing_path_resolves_to_nothing(path: str) -> None:
    """A path that does not exist (including method names of dicts and lists) gives None."""
    assert resolve_path(SCOPE, path) is None


def test_a_missing_path_renders_empty() -> None:
    """Missing values become None alone and the empty string inside text."""
    assert render("{{ $context.body.nope }}", SCOPE) is None
    assert render("[{{ $context.body.nope.deeper }}]", SCOPE) == "[]"


@pytest.mark.parametrize(
    "template",
    [
        "{{}}",
        "{{ }}",
        "{{ a b }}",
        "{{ a.[0] }}",
        "{{ a..b }}",
        "{{ a[x] }}",
        "{{ 1 + 1 }}",
        "{{__import__('os')}}",
        "{{__import__('os').system('echo hacked')}}",
        "{{ {} }}",
        "{ {a} }",
    ],
)
def test_text_that_is_not_a_placeholder_stays_as_written(template: str) -> None:
    """Braces that do not hold a valid path (such as Python code) are left as literal text."""
    assert render(template, SCOPE) == template
    assert not has_placeholders(template)


def test_templates_never_run_code() -> None:
    """Code-looking names are only looked up as keys: they find nothing and call nothing."""
    calls: list[str] = []
    scope = {"__import__": None, "f": {"__call__": "no"}, "g": lambda: calls.append("lazy") or "ok"}
    assert render("{{__import__}}", scope) is None
    assert render("{{ f.__call__ }}", scope) == "no"
    assert render("{{ __builtins__.eval }}", scope) is None
    assert calls == []
    assert render("{{ g }}", scope) == "ok"  # lazy values are the engine's own functions
    assert calls == ["lazy"]


def test_object_keys_are_templated_as_text() -> None:
    """Keys are rendered too and stay strings, even when a lone placeholder holds a number."""
    config = {"{{$context.body.order.status}}": "{{$context.body.order.id}}", "{{$jobsMapByNodeKey.n2}}": 1}
    assert render(config, SCOPE) == {"paid": 42, "7": 1}


def test_nested_configs_are_rendered_throughout() -> None:
    """Dicts and lists are walked to every string; other values pass through."""
    config = {"a": [{"b": "{{ $env.REGION }}"}, 3, None, True], "c": {"d": "id-{{$context.body.order.id}}"}}
    assert render(config, SCOPE) == {"a": [{"b": "eu"}, 3, None, True], "c": {"d": "id-42"}}


def test_rendering_does_not_mutate_and_returns_fresh_objects() -> None:
    """Rendering leaves the config and the scope unchanged, and changing the result cannot reach them."""
    config = {"order": "{{$context.body.order}}", "ids": "{{$context.body.items.id}}", "k": ["x"]}
    scope_before, config_before = copy.deepcopy(SCOPE), copy.deepcopy(config)
    result = render(config, SCOPE)
    result["order"]["status"] = "changed"
    result["k"].append("y")
    assert scope_before == SCOPE
    assert config == config_before
    assert result["order"] is not SCOPE["$context"]["body"]["order"]


def test_lazy_values_are_called_while_walking() -> None:
    """Zero-argument callables met on a path are evaluated, also inside a returned object."""
    scope = {"$system": {"now": lambda: "2026-01-01T00:00:00.000Z", "nested": lambda: {"v": 1}}}
    assert resolve_path(scope, "$system.now") == "2026-01-01T00:00:00.000Z"
    assert resolve_path(scope, "$system.nested.v") == 1
    assert render("{{ $system }}", scope) == {"now": "2026-01-01T00:00:00.000Z", "nested": {"v": 1}}
    assert render("s={{ $system }}", scope) == 's={"now":"2026-01-01T00:00:00.000Z","nested":{"v":1}}'


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (-3.0, "-3"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1.5e-6, "0.0000015"),
        (-0.0, "0"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
        (10**30, "1000000000000000000000000000000"),
    ],
)
def test_numbers_interpolate_like_javascript(number: float, text: str) -> None:
    """Numbers inside text are written as JavaScript's String(number) would."""
    assert render("{{ n }}!", {"n": number}) == f"{text}!"


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("a.b.0.c", ("a", "b", 0, "c")),
        ("a.b[0].c", ("a", "b", 0, "c")),
        ("a[0][1]", ("a", 0, 1)),
        ('a["x.y"]', ("a", "x.y")),
        ("a['x y']", ("a", "x y")),
        ('a["say \\"hi\\""]', ("a", 'say "hi"')),
        ("$context.headers.x-request-id", ("$context", "headers", "x-request-id")),
        ("a.01.10", ("a", "01", 10)),
        ('["0"][0]', ("0", 0)),
    ],
)
def test_parse_path_splits_segments(path: str, segments: tuple[str | int, ...]) -> None:
    """Paths split into names and integer indices, with quoted keys taken literally."""
    assert parse_path(path) == segments


@pytest.mark.parametrize("path", ["", ".a", "a.", "a..b", "a[b]", "a[-1]", "a b", "a:b", 'a["x]'])
def test_parse_path_rejects_malformed_paths(path: str) -> None:
    """A path outside the grammar raises ValueError (and resolves to None)."""
    with pytest.raises(ValueError, match="not a variable path"):
        parse_path(path)
    assert resolve_path({"a": {"b": 1}}, path) is None


def test_compiled_templates_are_cached() -> None:
    """Compiling the same string twice gives the same compiled template."""
    text = "Order {{$context.body.order.id}} is {{$context.body.order.status}}"
    assert compile_template(text) is compile_template(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", False),
        ("{{ a }}", True),
        ("{{ not a path }}", False),
        ({"k": ["x", {"y": "{{a.b}}"}]}, True),
        ({"{{a}}": 1}, True),
        ([1, None, True, "x"], False),
    ],
)
def test_has_placeholders_finds_any_placeholder(value: Any, expected: bool) -> None:
    """The quick check sees placeholders in nested strings and keys, and only valid ones."""
    assert has_placeholders(value) is expected


# -- properties -------------------------------------------------------------------------------

_TEMPLATE_CHARS = st.one_of(st.sampled_from(list("{}{}[].:'\"\\ $ab01-_")), st.characters())
_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_SAFE_JSON = st.recursive(
    _SCALARS | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
_ANY_JSON = st.recursive(
    _SCALARS | st.floats() | st.text(_TEMPLATE_CHARS, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text("ab$01", max_size=2), inner, max_size=4)
    ),
    max_leaves=20,
)
_PLAIN_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


def _format_path(segments: list[str | int], dotted: list[bool]) -> str:
    """Write segments as a path, dotted or bracketed as chosen, quoting names that need it."""
    parts = []
    for segment, use_dot in zip(segments, dotted, strict=False):
        if isinstance(segment, int):
            parts.append(f".{segment}" if use_dot else f"[{segment}]")
        elif use_dot and _PLAIN_NAME.fullmatch(segment):
            parts.append(f".{segment}")
        else:
            quote = '"' if use_dot else "'"
            escaped = segment.replace("\\", "\\\\").replace(quote, "\\" + quote)
            parts.append(f"[{quote}{escaped}{quote}]")
    return "".join(parts).removeprefix(".")


@st.composite
def _scope_with_path(draw: st.DrawFn) -> tuple[dict[str, Any], str, Any]:
    """A JSON scope, the path of one value inside it, and that value."""
    scope = draw(st.dictionaries(st.text(max_size=6), _SAFE_JSON, min_size=1))
    segments: list[str | int] = []
    value: Any = scope
    while isinstance(value, dict | list) and value and (not segments or draw(st.booleans())):
        if isinstance(value, dict):
            key = draw(st.sampled_from(sorted(value)))
        else:
            key = draw(st.integers(0, len(value) - 1))
        segments.append(key)
        value = value[key]
    dotted = draw(st.lists(st.booleans(), min_size=len(segments), max_size=len(segments)))
    return scope, _format_path(segments, dotted), value


@given(value=_ANY_JSON, scope=st.dictionaries(st.text("ab$01", max_size=2), _ANY_JSON))
def test_render_never_raises(value: Any, scope: dict[str, Any]) -> None:
    """Any JSON config renders against any JSON scope without raising."""
    render(value, scope)


@given(text=st.text(_TEMPLATE_CHARS), scope=st.dictionaries(st.text("ab$01", max_size=2), _ANY_JSON))
def test_render_of_arbitrary_text_never_raises(text: str, scope: dict[str, Any]) -> None:
    """Arbitrary text, full of braces and path punctuation, renders without raising."""
    render(text, scope)


@given(text=st.text().filter(lambda t: "{{" not in t), scope=st.dictionaries(st.text(), _SAFE_JSON))
def test_text_without_braces_renders_to_itself(text: str, scope: dict[str, Any]) -> None:
    """A string with no `{{` comes back unchanged."""
    assert render(text, scope) == text


@given(case=_scope_with_path())
def test_a_lone_placeholder_returns_the_value_at_its_path(case: tuple[dict[str, Any], str, Any]) -> None:
    """`{{ path }}` of an existing path gives exactly the value stored there."""
    scope, path, value = case
    assert render("{{ " + path + " }}", scope) == value
    assert resolve_path(scope, path) == value


@given(value=_ANY_JSON, scope=st.dictionaries(st.text("ab$01", max_size=2), _ANY_JSON))
def test_a_compiled_value_renders_as_render_does(value: Any, scope: dict[str, Any]) -> None:
    """`compile_value(v)(scope)` gives what `render(v, scope)` gives (repr: NaN equals itself there)."""
    template = {"all": value, "x": ["{{ a }}", "{{ b.0 }} {{ $0 }}", {"{{ 1 }}": "{{ a.b }}"}]}
    assert repr(compile_value(template)(scope)) == repr(render(template, scope))
    assert repr(compile_value(value)(scope)) == repr(render(value, scope))


def test_a_compiled_value_gives_fresh_containers_every_time() -> None:
    """Changing one rendered result reaches neither the config, nor the scope, nor the next result."""
    config = {"order": "{{$context.body.order}}", "k": ["x", {"y": 1}], "n": 2}
    scope_before, config_before = copy.deepcopy(SCOPE), copy.deepcopy(config)
    renderer = compile_value(config)
    first = renderer(SCOPE)
    first["order"]["status"] = "changed"
    first["k"].append("z")
    first["k"][1]["y"] = 3
    assert renderer(SCOPE) == render(config_before, scope_before)
    assert scope_before == SCOPE
    assert config == config_before


@given(value=_SAFE_JSON, scope=st.dictionaries(st.text("ab$01", max_size=2), _SAFE_JSON))
def test_rendering_never_mutates_its_inputs(value: Any, scope: dict[str, Any]) -> None:
    """Config and scope compare equal to deep copies taken before rendering."""
    template = {"all": value, "x": ["{{ a }}", "{{ b.0 }} {{ $0 }}", {"{{ 1 }}": "{{ a.b }}"}]}
    template_before, scope_before = copy.deepcopy(template), copy.deepcopy(scope)
    render(template, scope)
    assert template == template_before
    assert scope == scope_before


@given(
    segments=st.lists(st.integers(0, 10**6) | st.text(), min_size=1, max_size=6),
    dotted=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_parse_path_round_trips(segments: list[str | int], dotted: list[bool]) -> None:
    """A path written from segments, in any mix of styles, parses back to those segments."""
    assert parse_path(_format_path(segments, dotted)) == tuple(segments)
