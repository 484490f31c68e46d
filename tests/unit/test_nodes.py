"""The condition, multi-conditions, response and end nodes, and the node type registry."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.errors import NodeError, Problem
from hookline.expressions.calculators import CalculationError
from hookline.header_fields import NAME_RULE
from hookline.models import Answer, JobStatus
from hookline.nodes import registry
from hookline.nodes.base import NodeType, Outcome
from hookline.nodes.condition import ConditionNode
from hookline.nodes.end import EndNode
from hookline.nodes.multi_conditions import MultiConditionsNode
from hookline.nodes.response import ResponseNode
from hookline.types import JsonObject
from tests.unit._nodes import BROKEN, PAID, UNPAID, FakeContext, calc

BODY = {"order": {"id": 42, "status": "paid", "total": "19.90"}, "items": [{"sku": "a"}, {"sku": "b"}]}
CTX = FakeContext({"$context": {"body": BODY, "headers": {"x-trace": "t-1"}, "query": {}}})
ENGINE_LIST = 'must be one of "basic", "math.js", "formula.js"'


# --- condition --------------------------------------------------------------------------------


async def test_true_condition_runs_the_true_branch() -> None:
    """A true calculation resolves with result true and picks branch 1."""
    outcome = await ConditionNode().run({"engine": "basic", "calculation": PAID}, CTX)
    assert outcome == Outcome(JobStatus.RESOLVED, result=True, branch=1)


async def test_false_condition_runs_the_false_branch() -> None:
    """A false calculation resolves with result false and picks branch 0."""
    outcome = await ConditionNode().run({"rejectOnFalse": False, "calculation": UNPAID}, CTX)
    assert outcome == Outcome(JobStatus.RESOLVED, result=False, branch=0)


async def test_false_condition_with_reject_on_false_fails() -> None:
    """With rejectOnFalse a false calculation fails the job and runs no branch."""
    outcome = await ConditionNode().run({"rejectOnFalse": True, "calculation": UNPAID}, CTX)
    assert outcome == Outcome(JobStatus.FAILED, result=False)


async def test_true_condition_with_reject_on_false_still_resolves() -> None:
    """rejectOnFalse does not change what a true calculation does."""
    outcome = await ConditionNode().run({"rejectOnFalse": True, "calculation": PAID}, CTX)
    assert outcome.branch == 1
    assert outcome.status is JobStatus.RESOLVED


async def test_condition_operands_are_rendered_with_their_types() -> None:
    """A lone placeholder keeps its type, so loose equality and numeric order apply to real values."""
    config = {
        "calculation": {
            "group": {
                "type": "and",
                "calculations": [
                    {"calculator": "==", "operands": ["{{$context.body.order.id}}", "42"]},
                    {"calculator": ">", "operands": ["{{$context.body.order.total}}", 9.5]},
                    {"calculator": "includes", "operands": ["{{$context.body.items.sku}}", "b"]},
                ],
            }
        }
    }
    assert (await ConditionNode().run(config, CTX)).result is True


async def test_condition_evaluation_errors_propagate() -> None:
    """An operand of the wrong type raises, so the processor records an error job."""
    with pytest.raises(CalculationError, match="includes needs text or a list"):
        await ConditionNode().run({"calculation": BROKEN}, CTX)


async def test_condition_with_an_unknown_engine_raises_at_run_time() -> None:
    """An engine that slipped past validation is a node error, not a silent true or false."""
    with pytest.raises(NodeError, match="python"):
        await ConditionNode().run({"engine": "python", "expression": "1 > 0"}, CTX)


def test_condition_has_a_true_and_a_false_branch() -> None:
    """Only branches 0 and 1 may hang below a condition."""
    node = ConditionNode()
    assert [index for index in range(-1, 4) if node.has_branch({}, index)] == [0, 1]


def test_valid_condition_config_has_no_problems() -> None:
    """A full condition config, extra UI fields included, passes the check."""
    config = {"rejectOnFalse": True, "engine": "basic", "calculation": PAID, "title": "x", "uiColor": 3}
    assert ConditionNode().check(config) == []


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        (
            {"rejectOnFalse": "yes", "calculation": PAID},
            [Problem("config.rejectOnFalse", "must be true or false")],
        ),
        ({"engine": "python", "expression": "1 > 0"}, [Problem("config.engine", ENGINE_LIST)]),
        ({"engine": 1, "calculation": PAID}, [Problem("config.engine", ENGINE_LIST)]),
        (
            {"engine": "basic"},
            [Problem("config.calculation", "is required: a group of calculations or one calculation")],
        ),
        (
            {"calculation": calc("matches", 1, 2)},
            [
                Problem(
                    "config.calculation.group.calculations[0].calculator",
                    "unknown calculator 'matches'; use one of: equal, notEqual, gt, gte, lt, lte, "
                    "includes, notIncludes, startsWith, notStartsWith, endsWith, notEndsWith",
                )
            ],
        ),
    ],
)
def test_condition_check_names_the_wrong_field(config: JsonObject, problems: list[Problem]) -> None:
    """Each condition config problem names its field under `config.` and says what is wrong."""
    assert ConditionNode().check(config) == problems


# --- multi-conditions -------------------------------------------------------------------------


async def test_first_true_condition_wins() -> None:
    """The first true condition i runs branch i+1; later conditions are not evaluated."""
    config = {"conditions": [{"calculation": UNPAID}, {"calculation": PAID}, {"calculation": BROKEN}]}
    outcome = await MultiConditionsNode().run(config, CTX)
    assert outcome == Outcome(JobStatus.RESOLVED, result=2, branch=2, meta={"conditions": [False, True]})


async def test_no_match_with_continue_runs_the_default_branch() -> None:
    """With continueOnNoMatch, no true condition resolves and picks branch 0."""
    config = {"continueOnNoMatch": True, "conditions": [{"calculation": UNPAID}, {"calculation": UNPAID}]}
    outcome = await MultiConditionsNode().run(config, CTX)
    assert outcome == Outcome(JobStatus.RESOLVED, result=0, branch=0, meta={"conditions": [False, False]})


async def test_no_match_without_continue_fails() -> None:
    """Without continueOnNoMatch, no true condition runs the default branch, then fails."""
    outcome = await MultiConditionsNode().run(
        {"conditions": [{"engine": "basic", "calculation": UNPAID}]}, CTX
    )
    assert outcome == Outcome(JobStatus.FAILED, result=0, branch=0, meta={"conditions": [False]})


async def test_multi_conditions_without_conditions_never_match() -> None:
    """No conditions at all is a no-match."""
    outcome = await MultiConditionsNode().run({"continueOnNoMatch": True}, CTX)
    assert (outcome.status, outcome.branch) == (JobStatus.RESOLVED, 0)


async def test_multi_conditions_evaluation_errors_propagate() -> None:
    """A failing condition raises before any branch is chosen."""
    with pytest.raises(CalculationError):
        await MultiConditionsNode().run({"conditions": [{"calculation": BROKEN}]}, CTX)


def test_multi_conditions_has_one_branch_per_condition_plus_default() -> None:
    """Branches 0..n may hang below a node with n conditions."""
    node = MultiConditionsNode()
    config = {"conditions": [{"calculation": PAID}, {"calculation": UNPAID}]}
    assert [index for index in range(-1, 5) if node.has_branch(config, index)] == [0, 1, 2]
    assert [index for index in range(3) if node.has_branch({"conditions": "bad"}, index)] == [0]


def test_valid_multi_conditions_config_has_no_problems() -> None:
    """Conditions with titles and uids, and continueOnNoMatch, pass the check."""
    config = {
        "continueOnNoMatch": False,
        "conditions": [{"uid": "u1", "title": "Paid", "engine": "basic", "calculation": PAID}],
    }
    assert MultiConditionsNode().check(config) == []
    assert MultiConditionsNode().check({}) == []


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        ({"continueOnNoMatch": 1}, [Problem("config.continueOnNoMatch", "must be true or false")]),
        ({"conditions": {"a": PAID}}, [Problem("config.conditions", "must be a list of conditions")]),
        (
            {"conditions": [{"calculation": PAID}, "x > 1"]},
            [Problem("config.conditions[1]", 'must be an object with "calculation" or "expression"')],
        ),
        (
            {"conditions": [{"title": "empty"}]},
            [
                Problem(
                    "config.conditions[0].calculation",
                    "is required: a group of calculations or one calculation",
                )
            ],
        ),
        (
            {"conditions": [{"calculation": PAID}, {"engine": "formula.js", "expression": "1 +"}]},
            [Problem("config.conditions[1].expression", "at 4: the expression ends too early")],
        ),
        (
            {"conditions": [{"calculation": {"group": {"type": "nand", "calculations": []}}}]},
            [Problem("config.conditions[0].calculation.group.type", 'must be "and" or "or"')],
        ),
    ],
)
def test_multi_conditions_check_names_the_wrong_field(config: JsonObject, problems: list[Problem]) -> None:
    """Each multi-conditions config problem names its field under `config.`."""
    assert MultiConditionsNode().check(config) == problems


# --- response ---------------------------------------------------------------------------------


async def test_response_answers_with_rendered_status_headers_and_body() -> None:
    """Header values become text and the body keeps the types of lone placeholders."""
    config = {
        "statusCode": 201,
        "headers": [
            {"name": "X-Order", "value": "{{$context.body.order.id}}"},
            {"name": "X-Trace", "value": "trace {{$context.headers.x-trace}}"},
            {"name": "X-Items", "value": "{{$context.body.items}}"},
            {"name": "X-Missing", "value": "{{$context.body.nothing}}"},
            {"name": "X-Empty"},
        ],
        "body": {
            "id": "{{$context.body.order.id}}",
            "items": "{{$context.body.items}}",
            "text": "order {{$context.body.order.id}} is {{$context.body.order.status}}",
            "fixed": [1, True, None],
        },
    }
    outcome = await ResponseNode().run(config, CTX)
    headers = (
        ("X-Order", "42"),
        ("X-Trace", "trace t-1"),
        ("X-Items", '[{"sku":"a"},{"sku":"b"}]'),
        ("X-Missing", ""),
        ("X-Empty", ""),
    )
    body = {"id": 42, "items": BODY["items"], "text": "order 42 is paid", "fixed": [1, True, None]}
    assert outcome == Outcome(JobStatus.RESOLVED, ends=True, answer=Answer(201, headers, body))


async def test_response_defaults_to_200_and_an_empty_object() -> None:
    """Without config the answer is 200, no headers and `{}`."""
    outcome = await ResponseNode().run({}, CTX)
    assert outcome.answer == Answer(200, (), {})
    assert outcome.result is None


async def test_response_body_may_be_text_or_a_lone_value() -> None:
    """A text body is interpolated and a lone placeholder body keeps its type."""
    text = await ResponseNode().run({"body": "ok {{$context.body.order.status}}"}, CTX)
    number = await ResponseNode().run({"body": "{{$context.body.order.id}}"}, CTX)
    assert text.answer is not None
    assert number.answer is not None
    assert (text.answer.body, number.answer.body) == ("ok paid", 42)


async def test_response_refuses_a_header_value_with_a_line_break() -> None:
    """A rendered header value holding CR or LF fails instead of splitting the answer's headers."""
    ctx = FakeContext({"$context": {"body": {"name": "a\r\nSet-Cookie: x=1"}}})
    config = {"headers": [{"name": "X-Name", "value": "{{$context.body.name}}"}]}
    with pytest.raises(NodeError, match="X-Name"):
        await ResponseNode().run(config, ctx)


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x1f", "\x7f"])
async def test_response_fails_on_a_control_character_it_could_not_send(char: str) -> None:
    """A rendered header value holding a control character (but HTAB) fails the node, naming the header."""
    ctx = FakeContext({"$context": {"body": {"name": f"a{char}b"}}})
    config = {"headers": [{"name": "X-Name", "value": "{{$context.body.name}}"}]}
    with pytest.raises(NodeError, match=rf"header 'X-Name' holds the control character U\+00{ord(char):02X}"):
        await ResponseNode().run(config, ctx)


async def test_response_encodes_its_answer_for_the_wire_with_non_ascii_text_as_utf8() -> None:
    """The node's answer carries its wire form: `€42` and a tab are sent as UTF-8, the length follows."""
    ctx = FakeContext({"$context": {"body": {"price": "€42\tnet"}}})
    config = {"headers": [{"name": "X-Price", "value": "{{$context.body.price}}"}], "body": "ok"}
    outcome = await ResponseNode().run(config, ctx)
    assert outcome.answer is not None
    assert outcome.answer.headers == (("X-Price", "€42\tnet"),)
    assert outcome.answer.wire is not None
    assert outcome.answer.wire.headers == (
        (b"x-price", "€42\tnet".encode()),
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"2"),
    )
    assert outcome.answer.wire.body == b"ok"


async def test_response_fails_on_a_body_it_cannot_write_as_json() -> None:
    """A body holding an integer beyond 64 bits fails the node instead of the answer after it is recorded."""
    ctx = FakeContext({"$context": {"body": {"n": 2**70}}})
    with pytest.raises(NodeError, match="body cannot be written as JSON"):
        await ResponseNode().run({"body": {"n": "{{$context.body.n}}"}}, ctx)


async def test_response_of_a_legacy_config_drops_the_headers_hookline_sets_itself() -> None:
    """A Response node stored before framing headers were refused has them dropped, not sent nor recorded."""
    config = {"headers": [{"name": "Content-Length", "value": "1"}, {"name": "Connection", "value": "close"}]}
    outcome = await ResponseNode().run({**config, "body": "four"}, CTX)
    assert outcome.answer is not None
    assert outcome.answer.headers == ()
    assert outcome.answer.wire is not None
    assert outcome.answer.wire.headers == (
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"4"),
    )


async def test_response_with_204_sends_and_records_no_body() -> None:
    """A 204 answer has no body on the wire (HTTP allows none), so none is recorded, and no length."""
    outcome = await ResponseNode().run({"statusCode": 204, "body": {"ignored": True}}, CTX)
    assert outcome.answer is not None
    assert outcome.answer.body is None
    assert outcome.answer.wire is not None
    assert (outcome.answer.wire.headers, outcome.answer.wire.body) == ((), b"")


def test_response_is_sync_only_and_terminal() -> None:
    """A response node belongs to synchronous workflows and nothing may follow it."""
    assert ResponseNode.sync_only is True
    assert ResponseNode.terminal is True
    assert ResponseNode().has_branch({}, 0) is False


def test_valid_response_config_has_no_problems() -> None:
    """Status, headers with templated values and any body pass the check."""
    config = {
        "statusCode": 599,
        "headers": [{"name": "X-a_1-b", "value": "{{$context.body.id}}"}],
        "body": [1, "two"],
    }
    assert ResponseNode().check(config) == []
    assert ResponseNode().check({"statusCode": 200}) == []


@pytest.mark.parametrize("status", [199, 600, "200", True, 200.0, -1])
def test_response_status_must_be_an_integer_from_200_to_599(status: Any) -> None:
    """Anything but an integer from 200 to 599 is refused with one message."""
    assert ResponseNode().check({"statusCode": status}) == [
        Problem("config.statusCode", "must be an integer between 200 and 599")
    ]


@pytest.mark.parametrize(
    ("headers", "problems"),
    [
        ({"X-A": "1"}, [Problem("config.headers", "must be a list of {name, value} objects")]),
        (["X-A: 1"], [Problem("config.headers[0]", "must be an object with a name and a value")]),
        ([{"value": "1"}], [Problem("config.headers[0].name", "must be a non-empty string")]),
        ([{"name": "", "value": "1"}], [Problem("config.headers[0].name", "must be a non-empty string")]),
        ([{"name": "X:A", "value": "1"}], [Problem("config.headers[0].name", NAME_RULE)]),
        ([{"name": "Zähler", "value": "1"}], [Problem("config.headers[0].name", NAME_RULE)]),
        (
            [{"name": "Ok", "value": "1"}, {"name": "X Header", "value": "1"}],
            [Problem("config.headers[1].name", NAME_RULE)],
        ),
        (
            [{"name": "X-A", "value": 5}],
            [Problem("config.headers[0].value", "must be a string (it may hold {{ }} placeholders)")],
        ),
        (
            [{"name": "Content-Length", "value": "3"}, {"name": "Transfer-Encoding", "value": "chunked"}],
            [
                Problem(
                    "config.headers[0].name",
                    "hookline sets 'Content-Length' itself; a workflow cannot set it",
                ),
                Problem(
                    "config.headers[1].name",
                    "hookline sets 'Transfer-Encoding' itself; a workflow cannot set it",
                ),
            ],
        ),
        (
            [{"name": "X-A", "value": "a\x7f{{$context.body.b}}"}],
            [Problem("config.headers[0].value", "holds the control character U+007F")],
        ),
    ],
)
def test_response_check_names_each_wrong_header_field(headers: Any, problems: list[Problem]) -> None:
    """Header problems name the entry and the field: a list of {name, value} that can be sent."""
    assert ResponseNode().check({"headers": headers}) == problems


@pytest.mark.parametrize(
    "name",
    ["Connection", "keep-alive", "Upgrade", "TE", "Trailer", "Proxy-Connection", "X-Hookline-Execution"],
)
def test_response_check_refuses_every_header_hookline_sets_itself(name: str) -> None:
    """Framing, hop-by-hop and hookline's own headers cannot be set by a Response node, in any case."""
    problem = f"hookline sets {name!r} itself; a workflow cannot set it"
    assert ResponseNode().check({"headers": [{"name": name, "value": "x"}]}) == [
        Problem("config.headers[0].name", problem)
    ]


def test_response_check_accepts_any_token_as_a_name_and_any_text_around_placeholders() -> None:
    """RFC 9110 token names (digits first, `!#$%&'*+.^_`|~`) and non-ASCII or tab text in values pass."""
    headers = [
        {"name": "1x!#$%&'*+.^_`|~", "value": "€\t{{ $context.body.a }}"},
        {"name": "Content-Security-Policy", "value": "default-src 'self'"},
    ]
    assert ResponseNode().check({"headers": headers}) == []


# --- end --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end_status", "status"),
    [
        ("resolved", JobStatus.RESOLVED),
        ("failed", JobStatus.FAILED),
        (1, JobStatus.RESOLVED),
        (-1, JobStatus.FAILED),
    ],
)
async def test_end_ends_the_execution_with_its_status(end_status: Any, status: JobStatus) -> None:
    """The end node ends the execution as resolved or failed, NocoBase's 1 and -1 included."""
    outcome = await EndNode().run({"endStatus": end_status}, CTX)
    assert outcome == Outcome(status, ends=True)


async def test_end_without_status_resolves() -> None:
    """An end node without endStatus ends the execution as resolved."""
    assert await EndNode().run({}, CTX) == Outcome(JobStatus.RESOLVED, ends=True)


def test_end_is_terminal_and_checks_its_status() -> None:
    """Nothing may follow an end node; the four accepted statuses pass the check."""
    assert EndNode.terminal is True
    assert EndNode.sync_only is False
    for end_status in ("resolved", "failed", 1, -1):
        assert EndNode().check({"endStatus": end_status}) == []


@pytest.mark.parametrize("end_status", ["done", "Resolved", 0, 2, True, "1", 1.0])
def test_end_check_refuses_other_statuses(end_status: Any) -> None:
    """Any other endStatus is a problem naming the accepted values."""
    assert EndNode().check({"endStatus": end_status}) == [
        Problem("config.endStatus", 'must be one of "resolved", "failed", 1, -1')
    ]


# --- registry ---------------------------------------------------------------------------------


def test_registry_holds_the_built_in_node_types_by_type() -> None:
    """Each built-in node type is registered once, keyed by its type string."""
    for name, cls in [
        ("condition", ConditionNode),
        ("multi-conditions", MultiConditionsNode),
        ("response", ResponseNode),
        ("end", EndNode),
    ]:
        assert isinstance(registry.NODE_TYPES[name], cls)
        assert registry.node_type(name) is registry.NODE_TYPES[name]
    assert all(key == kind.type for key, kind in registry.NODE_TYPES.items())
    assert registry.node_type("no-such-type") is None


def test_registry_view_is_read_only() -> None:
    """NODE_TYPES cannot be changed directly; register is the way in."""
    with pytest.raises(TypeError):
        registry.NODE_TYPES["x"] = EndNode()  # type: ignore[index]


class _ProbeNode(NodeType):
    """A node type that exists only for the registry test."""

    type = "test-probe"

    def check(self, config: JsonObject) -> list[Problem]:
        """No problems."""
        return []

    async def run(self, config: JsonObject, ctx: Any) -> Outcome:
        """Resolve."""
        return Outcome(JobStatus.RESOLVED)


def test_register_adds_a_type_once() -> None:
    """A new type becomes visible; the same instance may register again, another one may not."""
    probe = _ProbeNode()
    try:
        registry.register(probe)
        registry.register(probe)
        assert registry.node_type("test-probe") is probe
        assert registry.NODE_TYPES["test-probe"] is probe
        with pytest.raises(ValueError, match="'test-probe' is already registered"):
            registry.register(_ProbeNode())
        with pytest.raises(ValueError, match="'condition' is already registered"):
            registry.register(type("Other", (ConditionNode,), {})())
    finally:
        registry._node_types.pop("test-probe", None)
