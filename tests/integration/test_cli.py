"""The command line, run in-process on a temporary SQLite file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hookline.cli import main
from tests.integration.conftest import EXAMPLES, Server, example

Invoke = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run `hookline …` with its data folder in tmp_path; returns the click Result."""
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HOOKLINE_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_import_prints_key_id_and_webhook_url(run: Invoke) -> None:
    """`workflow import` stores the file and prints its key, id and full webhook URL."""
    result = run("workflow", "import", str(EXAMPLES / "order-paid.json"))
    assert result.exit_code == 0, result.output
    assert "imported orders-paid (id " in result.output
    assert "http://127.0.0.1:8000/api/webhook:trigger/orders-paid" in result.output


def test_import_if_missing_keeps_the_existing_version(run: Invoke) -> None:
    """`--if-missing` leaves a key that already exists alone."""
    path = str(EXAMPLES / "order-paid.json")
    run("workflow", "import", path)
    result = run("workflow", "import", "--if-missing", path)
    assert "already exists" in result.output
    listed = run("workflow", "list", "--json")
    assert [json.loads(line)["key"] for line in listed.output.splitlines()] == ["orders-paid"]


def test_export_of_an_import_is_the_same_json(run: Invoke) -> None:
    """`workflow export` prints exactly the JSON that was imported."""
    path = EXAMPLES / "order-paid.json"
    run("workflow", "import", str(path))
    result = run("workflow", "export", "orders-paid")
    assert result.exit_code == 0
    assert json.loads(result.output) == json.loads(path.read_text())


def test_invalid_workflow_file_exits_2_naming_the_node(run: Invoke, tmp_path: Path) -> None:
    """An invalid file is refused with exit code 2 and a message naming the node."""
    workflow = json.loads((EXAMPLES / "order-paid.json").read_text())
    workflow["nodes"][1]["upstream"] = "missing"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(workflow))
    result = run("workflow", "import", str(bad))
    assert result.exit_code == 2
    assert "nodes[ok]" in result.output


def test_unknown_key_and_execution_exit_3(run: Invoke) -> None:
    """Asking for something that does not exist exits with code 3 and says so."""
    assert run("workflow", "export", "nope").exit_code == 3
    result = run("execution", "show", "12345")
    assert result.exit_code == 3
    assert "No execution has the id 12345" in result.output


def test_bad_database_url_exits_2(run: Invoke) -> None:
    """An unsupported database URL is a configuration error with exit code 2."""
    result = run("workflow", "list", "--database-url", "mysql://somewhere/db")
    assert result.exit_code == 2
    assert "Unsupported database URL" in result.output


def test_migrate_creates_the_schema(run: Invoke, tmp_path: Path) -> None:
    """`migrate` creates the SQLite file and says the schema is up to date."""
    result = run("migrate")
    assert result.exit_code == 0
    assert "up to date" in result.output
    assert (tmp_path / "hookline.db").exists()


async def test_execution_list_and_show_describe_what_ran(run: Invoke, server: Server) -> None:
    """`execution list` and `execution show --json` give the execution with its jobs."""
    key = await server.load(example("order-paid.json"))
    response = await server.post(key, json={"order": {"id": 5, "status": "paid"}}, auth=("shop", "s3cret"))
    execution_id = response.headers["x-hookline-execution"]

    # The CLI runs its own event loop, so it runs in a thread beside the server's.
    listed = await asyncio.to_thread(run, "execution", "list", "--workflow", key, "--status", "resolved")
    assert listed.exit_code == 0
    assert listed.output.split()[0] == execution_id

    shown = json.loads((await asyncio.to_thread(run, "execution", "show", execution_id, "--json")).output)
    assert shown["status"] == "resolved"
    assert shown["response"]["statusCode"] == 200
    assert shown["context"]["headers"]["authorization"] == "[redacted]"
    assert [(j["node_key"], j["status"]) for j in shown["jobs"]] == [("paid", "resolved"), ("ok", "resolved")]

    human = (await asyncio.to_thread(run, "execution", "show", execution_id)).output
    assert f"execution {execution_id}" in human
    assert "status resolved" in human
