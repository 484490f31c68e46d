"""The CLI's admin commands: workflows created, shown, enabled, versioned and deleted; executions acted on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import Result

from hookline.engine.flows import FlowCache
from hookline.errors import Problem
from hookline.models import ExecutionStatus, JobStatus
from hookline.nodes.base import NodeContext, NodeType, Outcome
from hookline.nodes.registry import register, unregister
from hookline.queue.worker import WorkerPool
from hookline.types import JsonObject
from tests._workflows import chain
from tests.integration.conftest import EXAMPLES, Invoke, Server, example

QUEUED_NOTE = "queued; a running `hookline serve` or `hookline worker` runs it"


class NoteNode(NodeType):
    """Test node: resolves, counting its runs so that a rerun would show."""

    type: ClassVar[str] = "test-note"
    runs: ClassVar[int] = 0

    def check(self, config: JsonObject) -> list[Problem]:
        return []

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        type(self).runs += 1
        return Outcome(JobStatus.RESOLVED, "noted")


class FlakyNode(NoteNode):
    """Test node: fails while `failures_left` is above zero, then resolves."""

    type: ClassVar[str] = "test-flaky"
    failures_left: ClassVar[int] = 0

    async def run(self, config: JsonObject, ctx: NodeContext) -> Outcome:
        if FlakyNode.failures_left > 0:
            FlakyNode.failures_left -= 1
            return Outcome(JobStatus.FAILED, "not yet")
        return Outcome(JobStatus.RESOLVED, "done")


class PickyNode(NoteNode):
    """Test node whose check refuses every config once `strict` is set (as a node type upgrade might)."""

    type: ClassVar[str] = "test-picky"
    strict: ClassVar[bool] = False

    def check(self, config: JsonObject) -> list[Problem]:
        return [Problem("config.size", "must be small")] if PickyNode.strict else []


@pytest.fixture(autouse=True)
def test_nodes() -> Iterator[None]:
    """Register the test node types, with fresh counters, for one test."""
    NoteNode.runs, FlakyNode.failures_left, PickyNode.strict = 0, 0, False
    kinds = [NoteNode(), FlakyNode(), PickyNode()]
    for kind in kinds:
        register(kind)
    yield
    for kind in kinds:
        unregister(kind.type)


async def cli(run: Invoke, *args: str) -> Result:
    """Run the CLI beside a running server: the CLI runs its own event loop, so in a thread."""
    return await asyncio.to_thread(run, *args)


def import_json(run: Invoke, tmp_path: Path, workflow: dict[str, Any]) -> Result:
    """Write a workflow to a file and `workflow import` it."""
    path = tmp_path / f"{workflow['key']}.json"
    path.write_text(json.dumps(workflow))
    result = run("workflow", "import", str(path))
    assert result.exit_code == 0, result.output
    return result


# -- workflows -----------------------------------------------------------------------------------


def test_create_prints_id_key_and_webhook_url(run: Invoke) -> None:
    """`workflow create` makes a disabled workflow and prints its id, key and webhook URL."""
    result = run("workflow", "create", "--title", "Orders", "--async", "--description", "From the shop")
    assert result.exit_code == 0, result.output
    key = result.output.split("key:")[1].split()[0]
    assert f"webhook URL: http://127.0.0.1:8000/api/webhook:trigger/{key}" in result.output
    assert "(async, disabled, current)" in result.output
    shown = json.loads(run("workflow", "show", key, "--json").output)
    assert (shown["title"], shown["description"], shown["sync"]) == ("Orders", "From the shop", False)
    assert f"id:          {shown['id']}" in result.output


def test_create_json_is_the_workflow_view(run: Invoke) -> None:
    """`workflow create --json` prints the admin API's view of the new workflow."""
    result = run("workflow", "create", "--title", "Hook", "--sync", "--json")
    created = json.loads(result.output)
    assert created["sync"] is True
    assert created["enabled"] is False
    assert created["nodes"] == []
    assert created["executions"] == 0
    assert created["webhook_url"].endswith(f"/api/webhook:trigger/{created['key']}")


def test_create_needs_a_mode_and_a_title(run: Invoke) -> None:
    """Without --sync or --async create is a usage error; a blank title is invalid input; both exit 2."""
    no_mode = run("workflow", "create", "--title", "Hook")
    assert no_mode.exit_code == 2
    assert "--sync or --async" in no_mode.output
    blank = run("workflow", "create", "--title", " ", "--sync")
    assert blank.exit_code == 2
    assert "title: is required" in blank.output
    assert run("workflow", "list").output == ""


def test_show_draws_the_nodes_as_a_labelled_tree(run: Invoke) -> None:
    """`workflow show` lists a condition's branches as yes/no, under their node, before the next step."""
    run("workflow", "import", str(EXAMPLES / "order-paid.json"))
    result = run("workflow", "show", "orders-paid")
    assert result.exit_code == 0, result.output
    assert "workflow orders-paid  (version " in result.output
    assert "webhook URL: http://127.0.0.1:8000/api/webhook:trigger/orders-paid" in result.output
    tree = result.output.split("nodes:\n")[1].splitlines()
    assert tree == [
        "  paid (condition)",
        "    yes:",
        "      ok (response)",
        "    no:",
        "      no (response)",
    ]


def test_show_numbers_other_branches_and_continues_the_main_chain(run: Invoke, tmp_path: Path) -> None:
    """Other branching nodes show "branch i"; the step after a branching node stays on the main chain."""
    condition = {"calculation": {"calculator": "equal", "operands": ["{{$context.body.a}}", 1]}}
    workflow = {
        "key": "route",
        "title": "Route",
        "sync": True,
        "config": {},
        "nodes": [
            {"key": "m", "type": "multi-conditions", "upstream": None, "branchIndex": None,
             "config": {"continueOnNoMatch": True, "conditions": [condition]}},
            {"key": "one", "type": "test-note", "title": "First", "upstream": "m", "branchIndex": 1},
            {"key": "other", "type": "test-note", "upstream": "m", "branchIndex": 0},
            {"key": "after", "type": "response", "upstream": "m", "branchIndex": None,
             "config": {"statusCode": 200}},
        ],
    }  # fmt: skip
    import_json(run, tmp_path, workflow)
    tree = run("workflow", "show", "route").output.split("nodes:\n")[1].splitlines()
    assert tree == [
        "  m (multi-conditions)",
        "    branch 0:",
        "      other (test-note)",
        "    branch 1:",
        "      one (test-note)  First",
        "  after (response)",
    ]


def test_show_json_and_lookup_by_id_or_digit_key(run: Invoke, tmp_path: Path) -> None:
    """`show --json` gives the version with nodes; digits are tried as an id first, then as a key."""
    run("workflow", "import", str(EXAMPLES / "order-paid.json"))
    by_key = json.loads(run("workflow", "show", "orders-paid", "--json").output)
    assert [n["key"] for n in by_key["nodes"]] == ["paid", "ok", "no"]
    assert by_key["executions"] == 0
    by_id = json.loads(run("workflow", "show", by_key["id"], "--json").output)
    assert by_id == by_key
    import_json(run, tmp_path, chain("test-note", key="12345"))
    assert json.loads(run("workflow", "show", "12345", "--json").output)["key"] == "12345"


def test_unknown_workflow_exits_3_for_every_command(run: Invoke) -> None:
    """Every workflow command exits 3 for an unknown key or id, naming it."""
    for command in ("show", "enable", "disable", "versions", "export"):
        result = run("workflow", command, "nope")
        assert result.exit_code == 3, command
        assert "No workflow has the key 'nope'" in result.output
    result = run("workflow", "delete", "--yes", "987654321")
    assert result.exit_code == 3
    assert "version id or key '987654321'" in result.output


def test_disable_then_enable(run: Invoke) -> None:
    """`disable` and `enable` flip the current version and say what it is now."""
    run("workflow", "import", str(EXAMPLES / "order-paid.json"))
    disabled = run("workflow", "disable", "orders-paid")
    assert disabled.exit_code == 0
    assert "disabled orders-paid (version " in disabled.output
    assert json.loads(run("workflow", "show", "orders-paid", "--json").output)["enabled"] is False
    enabled = run("workflow", "enable", "orders-paid")
    assert enabled.exit_code == 0
    assert ": sync, enabled, current)" in enabled.output
    assert json.loads(run("workflow", "show", "orders-paid", "--json").output)["enabled"] is True


def test_enabling_an_invalid_workflow_exits_2_with_every_problem(run: Invoke, tmp_path: Path) -> None:
    """A workflow that no longer validates can be disabled, but enabling it exits 2 listing the problem."""
    import_json(run, tmp_path, chain("test-picky", "test-picky", key="picky"))
    PickyNode.strict = True
    assert run("workflow", "disable", "picky").exit_code == 0
    result = run("workflow", "enable", "picky")
    assert result.exit_code == 2
    assert "the workflow is not valid" in result.stderr
    assert "nodes[n0].config.size: must be small" in result.stderr
    assert "nodes[n1].config.size: must be small" in result.stderr
    assert json.loads(run("workflow", "show", "picky", "--json").output)["enabled"] is False


def test_enabling_an_old_version_by_id_makes_it_current(run: Invoke) -> None:
    """`enable ID` of an older version makes it the current one and disables the newer one."""
    path = str(EXAMPLES / "order-paid.json")
    run("workflow", "import", path)
    run("workflow", "import", path)
    lines = run("workflow", "versions", "orders-paid", "--json").output.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert (first["current"], second["current"]) == (False, True)
    assert run("workflow", "enable", first["id"]).exit_code == 0
    assert json.loads(run("workflow", "show", "orders-paid", "--json").output)["id"] == first["id"]


def test_delete_asks_first_and_keeps_the_workflow_on_no(run: Invoke) -> None:
    """`delete` asks for confirmation: "n" keeps the workflow, "y" deletes every version."""
    path = str(EXAMPLES / "order-paid.json")
    run("workflow", "import", path)
    run("workflow", "import", path)
    kept = run("workflow", "delete", "orders-paid", input="n\n")
    assert kept.exit_code == 1
    assert "Delete the workflow orders-paid (2 version(s)) and all its executions?" in kept.output
    assert run("workflow", "show", "orders-paid").exit_code == 0
    deleted = run("workflow", "delete", "orders-paid", input="y\n")
    assert deleted.exit_code == 0
    assert "deleted orders-paid: 2 version(s) and 0 execution(s)" in deleted.output
    assert run("workflow", "show", "orders-paid").exit_code == 3


def test_delete_yes_does_not_ask(run: Invoke) -> None:
    """`delete --yes` deletes without reading anything."""
    run("workflow", "import", str(EXAMPLES / "order-paid.json"))
    result = run("workflow", "delete", "--yes", "orders-paid")
    assert result.exit_code == 0
    assert "?" not in result.output
    assert run("workflow", "list").output == ""


async def test_versions_show_current_enabled_and_execution_counts(run: Invoke, server: Server) -> None:
    """`versions` lists every version oldest first, which is current and enabled, and its executions."""
    await server.load(example("order-paid.json"))
    await server.load(example("order-paid.json"))
    body = {"order": {"id": 5, "status": "paid"}}
    assert (await server.post("orders-paid", json=body, auth=("shop", "s3cret"))).status_code == 200

    rows = [
        json.loads(line)
        for line in (await cli(run, "workflow", "versions", "orders-paid", "--json")).output.splitlines()
    ]
    assert [(r["current"], r["enabled"], r["executions"]) for r in rows] == [
        (False, False, 0),
        (True, True, 1),
    ]
    human = (await cli(run, "workflow", "versions", "orders-paid")).output.splitlines()
    assert human[0].startswith("versions of orders-paid (oldest first")
    assert human[1].split()[:4] == [rows[0]["id"], "-", "disabled", "0"]
    assert human[2].split()[:4] == [rows[1]["id"], "current", "enabled", "1"]


# -- executions ----------------------------------------------------------------------------------


async def post_orders(server: Server, count: int) -> list[str]:
    """Call the synchronous example `count` times; the execution ids, oldest first."""
    await server.load(example("order-paid.json"))
    ids = []
    for n in range(count):
        body = {"order": {"id": n, "status": "paid"}}
        response = await server.post("orders-paid", json=body, auth=("shop", "s3cret"))
        ids.append(response.headers["x-hookline-execution"])
    return ids


async def test_execution_list_pages_with_before(run: Invoke, server: Server) -> None:
    """A full page says how to get the next one, and `--before` gives it."""
    ids = await post_orders(server, 3)
    page = await cli(run, "execution", "list", "--workflow", "orders-paid", "--limit", "2")
    assert [line.split()[0] for line in page.stdout.splitlines()] == [ids[2], ids[1]]
    assert f"--before {ids[1]}" in page.stderr
    rest = await cli(run, "execution", "list", "--before", ids[1], "--limit", "2")
    assert [line.split()[0] for line in rest.stdout.splitlines()] == [ids[0]]
    assert rest.stderr == ""


async def test_execution_list_filters_by_time_and_version(run: Invoke, server: Server) -> None:
    """`--since`, `--until` and `--version` filter; JSON lines are the execution view."""
    ids = await post_orders(server, 2)
    later = await cli(run, "execution", "list", "--since", "2999-01-01")
    assert later.exit_code == 0
    assert later.stdout == ""
    earlier = await cli(run, "execution", "list", "--until", "2999-01-01T00:00:00+02:00", "--json")
    rows = [json.loads(line) for line in earlier.stdout.splitlines()]
    assert [r["id"] for r in rows] == ids[::-1]
    assert {r["status"] for r in rows} == {"resolved"}
    version = rows[0]["workflow_id"]
    assert len((await cli(run, "execution", "list", "--version", version)).stdout.splitlines()) == 2
    assert (await cli(run, "execution", "list", "--version", "1")).stdout == ""


def test_execution_list_refuses_a_bad_time(run: Invoke) -> None:
    """A time that is not ISO 8601 is a usage error (exit 2) naming the option."""
    result = run("execution", "list", "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since" in result.output
    assert "not an ISO 8601 time" in result.output


async def test_cancel_a_queued_execution_then_again_exits_5(run: Invoke, make_server: Any) -> None:
    """`cancel` cancels a queued execution; canceling a finished one is a conflict (exit 5)."""
    async with make_server(workers=0) as server:  # no workers: executions stay queued
        key = await server.load(chain("test-note"))
        first = (await server.post(key, json={})).headers["x-hookline-execution"]
        second = (await server.post(key, json={})).headers["x-hookline-execution"]
        canceled = await cli(run, "execution", "cancel", first)
        assert canceled.exit_code == 0, canceled.output
        assert f"execution {first} canceled" in canceled.output
        as_json = json.loads((await cli(run, "execution", "cancel", second, "--json")).output)
        assert (as_json["id"], as_json["status"]) == (second, "canceled")
        again = await cli(run, "execution", "cancel", first)
        assert again.exit_code == 5
        assert "already canceled" in again.output
        stored = await server.runtime.store.get_execution(int(first))
    assert stored is not None
    assert stored.status is ExecutionStatus.CANCELED


def test_unknown_execution_exits_3(run: Invoke) -> None:
    """Every execution command exits 3 for an unknown id; a non-number id is a usage error."""
    for command in ("show", "cancel", "replay", "resume"):
        result = run("execution", command, "424242")
        assert result.exit_code == 3, command
        assert "No execution has the id 424242" in result.output
    assert run("execution", "show", "abc").exit_code == 2


async def test_replay_of_a_sync_workflow_runs_now_and_prints_the_answer(run: Invoke, server: Server) -> None:
    """Replaying a synchronous execution runs it in the CLI and prints the answer's status and body."""
    [original] = await post_orders(server, 1)
    result = await cli(run, "execution", "replay", original)
    assert result.exit_code == 0, result.output
    first_line, status_line, body_line = result.output.splitlines()
    new_id = first_line.split()[1]
    assert first_line == f"execution {new_id} (replay of {original}): resolved"
    assert status_line == "answer: 200"
    assert json.loads(body_line) == {"ok": True, "id": 0}
    replayed = await server.runtime.store.get_execution(int(new_id))
    assert replayed is not None
    assert replayed.status is ExecutionStatus.RESOLVED
    assert replayed.context["body"] == {"order": {"id": 0, "status": "paid"}}

    as_json = json.loads((await cli(run, "execution", "replay", original, "--json")).output)
    assert as_json["execution"]["status"] == "resolved"
    assert as_json["execution"]["id"] not in (original, new_id)
    assert as_json["answer"]["statusCode"] == 200


async def test_replay_of_an_async_workflow_is_queued_for_the_server(run: Invoke, make_server: Any) -> None:
    """Replaying an asynchronous execution queues it, says a server runs it, and workers do.

    The server runs no workers of its own, so nothing can claim the replay before the test reads it
    (a polling worker once did, in a CI run); a worker pool on the same store drains the queue.
    """
    async with make_server(workers=0) as server:
        store = server.runtime.store
        workers = WorkerPool(store, FlowCache(store), concurrency=2, poll_seconds=0.05)
        key = await server.load(chain("test-note"))
        original = (await server.post(key, json={"n": 1})).headers["x-hookline-execution"]
        await workers.drain()
        result = await cli(run, "execution", "replay", original)
        assert result.exit_code == 0, result.output
        assert QUEUED_NOTE in result.output
        new_id = int(result.output.split()[1])
        queued = await store.get_execution(new_id)
        assert queued is not None
        assert queued.status is ExecutionStatus.QUEUED
        await workers.drain()
        done = await store.get_execution(new_id)
        assert done is not None
        assert done.status is ExecutionStatus.RESOLVED
        assert NoteNode.runs == 2


async def test_resume_continues_a_failed_execution_from_its_failed_node(run: Invoke, server: Server) -> None:
    """`resume` queues a failed execution; the server reruns only the failed node, and it resolves."""
    FlakyNode.failures_left = 1
    key = await server.load(chain("test-note", "test-flaky"))
    execution_id = (await server.post(key, json={})).headers["x-hookline-execution"]
    await server.runtime.workers.drain()
    shown = json.loads((await cli(run, "execution", "show", execution_id, "--json")).output)
    assert shown["status"] == "failed"
    kept = shown["jobs"][0]

    result = await cli(run, "execution", "resume", execution_id)
    assert result.exit_code == 0, result.output
    assert f"execution {execution_id} {QUEUED_NOTE}" in result.output
    await server.runtime.workers.drain()

    after = json.loads((await cli(run, "execution", "show", execution_id, "--json")).output)
    assert after["status"] == "resolved"
    assert [(j["node_key"], j["status"]) for j in after["jobs"]] == [("n0", "resolved"), ("n1", "resolved")]
    assert after["jobs"][0]["id"] == kept["id"]
    assert NoteNode.runs == 1


async def test_resume_of_a_resolved_execution_exits_5(run: Invoke, server: Server) -> None:
    """Only a failed execution resumes: a resolved one is a conflict (exit 5) and stays resolved."""
    [execution_id] = await post_orders(server, 1)
    result = await cli(run, "execution", "resume", execution_id, "--json")
    assert result.exit_code == 5
    assert "this one is resolved" in result.output
    stored = await server.runtime.store.get_execution(int(execution_id))
    assert stored is not None
    assert stored.status is ExecutionStatus.RESOLVED
