"""The command line, run in-process on a temporary SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import EXAMPLES, Invoke, Server, example


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
    """`workflow export --include-secrets` prints exactly the JSON that was imported."""
    path = EXAMPLES / "order-paid.json"
    run("workflow", "import", str(path))
    result = run("workflow", "export", "orders-paid", "--include-secrets")
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


def test_help_says_how_the_cli_reaches_the_data(run: Invoke) -> None:
    """`hookline --help` explains that the CLI uses the database directly and needs no token."""
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "talks to the database directly" in text
    assert "needs no admin token" in text
    assert "`hookline serve` or `hookline worker`" in text


def test_list_filters_by_state_and_text(run: Invoke) -> None:
    """`workflow list` filters with --enabled/--disabled and --search; JSON lines carry the webhook URL."""
    run("workflow", "import", str(EXAMPLES / "order-paid.json"), str(EXAMPLES / "order-paid-async.json"))
    run("workflow", "disable", "orders-paid-async")
    enabled = [
        json.loads(line) for line in run("workflow", "list", "--enabled", "--json").output.splitlines()
    ]
    assert [w["key"] for w in enabled] == ["orders-paid"]
    assert enabled[0]["webhook_url"] == "http://127.0.0.1:8000/api/webhook:trigger/orders-paid"
    disabled = run("workflow", "list", "--disabled").output.splitlines()
    assert [line.split()[0] for line in disabled] == ["orders-paid-async"]
    found = run("workflow", "list", "--search", "QUEUED").output.splitlines()
    assert [line.split()[0] for line in found] == ["orders-paid-async"]


def test_import_of_an_existing_key_adds_a_version_and_export_takes_an_id(run: Invoke) -> None:
    """Importing a key again adds a version; `export` of the old version's id gives that version."""
    path = str(EXAMPLES / "order-paid.json")
    run("workflow", "import", path)
    second = run("workflow", "import", path)
    assert second.exit_code == 0
    versions = [
        json.loads(line) for line in run("workflow", "versions", "orders-paid", "--json").output.splitlines()
    ]
    assert len(versions) == 2
    exported = json.loads(run("workflow", "export", versions[0]["id"]).output)
    assert exported["key"] == "orders-paid"
    assert exported["enabled"] is False


def test_import_of_a_file_that_is_not_json_exits_2(run: Invoke, tmp_path: Path) -> None:
    """A workflow file that is not JSON is invalid input: exit 2 naming the file."""
    bad = tmp_path / "broken.json"
    bad.write_text("{")
    result = run("workflow", "import", str(bad))
    assert result.exit_code == 2
    assert "broken.json is not valid JSON" in result.stderr


# -- parse -----------------------------------------------------------------------------------------


def test_parse_query_prints_the_parsed_json_and_paths(run: Invoke) -> None:
    """`parse query URL` prints the parsed query and its paths, branches before leaves."""
    result = run("parse", "query", "https://shop.test/hook?a[0][b]=1&a[1]=x&c=2#top")
    assert result.exit_code == 0
    parsed, paths = result.output.split("paths:\n")
    assert json.loads(parsed.removeprefix("parsed:\n")) == {"a": [{"b": "1"}, "x"], "c": "2"}
    assert paths.split() == ["a", "a[0]", "a[0].b", "a[1]", "c"]


def test_parse_query_json_and_items(run: Invoke) -> None:
    """`--json` prints {"parsed", "paths"}; `--items` prints the config items ready to paste."""
    as_json = json.loads(run("parse", "query", "a=1&b[c]=2", "--json").output)
    assert as_json == {"parsed": {"a": "1", "b": {"c": "2"}}, "paths": ["a", "b", "b.c"]}
    items = json.loads(run("parse", "query", "?a=1", "--items").output)
    assert items == [{"key": "a", "alias": ""}]


def test_parse_json_reads_stdin_and_files(run: Invoke, tmp_path: Path) -> None:
    """`parse json -` reads stdin, `parse json FILE` a file; both print one path per line."""
    sample = '{"a": 1, "b": {"c": [{"id": 1}, {"id": 2}]}, "x.y": true}'
    result = run("parse", "json", "-", input=sample)
    assert result.exit_code == 0
    assert result.output.splitlines() == ["a", "b", "b.c", "b.c[0]", "b.c[0].id", '["x.y"]']
    path = tmp_path / "sample.json"
    path.write_text(sample)
    items = json.loads(run("parse", "json", str(path), "--items").output)
    assert items[1] == {"key": "b", "alias": ""}
    as_json = json.loads(run("parse", "json", str(path), "--json").output)
    assert as_json["parsed"] == json.loads(sample)
    assert as_json["paths"][-1] == '["x.y"]'


def test_parse_json_refuses_bad_or_huge_samples_with_exit_2(run: Invoke) -> None:
    """A sample that is not JSON, or larger than the limit, is invalid input (exit 2)."""
    broken = run("parse", "json", "-", input='{"a":')
    assert broken.exit_code == 2
    assert "The sample is not valid JSON" in broken.stderr
    huge = run("parse", "json", "-", input='"' + "x" * (1024 * 1024) + '"')
    assert huge.exit_code == 2
    assert "larger than" in huge.stderr


# -- serve -----------------------------------------------------------------------------------------


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace uvicorn and the app factory; collects the settings each `serve` gave the app."""
    import uvicorn

    import hookline.api.app

    given: list[Any] = []
    monkeypatch.setattr(hookline.api.app, "create_app", lambda settings: given.append(settings) or "app")
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets=None: None)
    monkeypatch.delenv("HOOKLINE_ADMIN_TOKEN", raising=False)
    return given


def test_serve_prints_a_fresh_admin_token_once(run: Invoke, tmp_path: Path, fake_server: list[Any]) -> None:
    """The first `serve` generates, saves and prints the token; the next one reuses it silently."""
    first = run("serve")
    assert first.exit_code == 0, first.output
    saved = (tmp_path / "admin-token").read_text().strip()
    assert f"Admin API token (saved in {tmp_path / 'admin-token'}; shown once): {saved}" in first.output
    second = run("serve")
    assert second.exit_code == 0
    assert saved not in second.output
    assert [settings.admin_token for settings in fake_server] == [saved, saved]


def test_serve_with_a_configured_token_prints_nothing_of_it(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_server: list[Any]
) -> None:
    """With HOOKLINE_ADMIN_TOKEN set, no token is generated, saved or printed."""
    monkeypatch.setenv("HOOKLINE_ADMIN_TOKEN", "from-the-environment")
    result = run("serve")
    assert result.exit_code == 0
    assert "token" not in result.output.lower()
    assert not (tmp_path / "admin-token").exists()
    assert fake_server[0].admin_token == "from-the-environment"
