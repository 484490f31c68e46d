"""`hookline parse body`: a sample body of any format, given inline, from a file or from stdin."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hookline.cli import main

Invoke = Callable[..., Result]


@pytest.fixture
def run() -> Invoke:
    """Run `hookline parse body …` in-process; returns the click Result (parsing needs no database)."""
    runner = CliRunner()

    def invoke(*args: str, input: bytes | str | None = None) -> Result:
        return runner.invoke(main, ["parse", "body", *args], input=input, catch_exceptions=False)

    return invoke


def test_an_inline_xml_sample_prints_its_value_and_paths(run: Invoke) -> None:
    """Like `parse query`, people get the parsed value, then the paths indented below `paths:`."""
    result = run("--content-type", "application/xml", '<order id="5"><status>paid</status></order>')
    assert result.exit_code == 0, result.output
    parsed, paths = result.output.split("paths:\n")
    assert json.loads(parsed.removeprefix("parsed:\n")) == {"order": {"@id": "5", "status": "paid"}}
    assert paths.split() == ["order", "order.@id", "order.status"]


def test_the_type_defaults_to_json_and_json_and_items_print_as_siblings_do(run: Invoke) -> None:
    """Without `--content-type` the sample is JSON; `--json` and `--items` print what `parse query` prints."""
    as_json = json.loads(run('{"a": {"b": 1}}', "--json").output)
    assert as_json == {"parsed": {"a": {"b": 1}}, "paths": ["a", "a.b"]}
    form = run("--content-type", "application/x-www-form-urlencoded", "a[b]=1", "--items")
    assert json.loads(form.output) == [{"key": "a", "alias": ""}, {"key": "a.b", "alias": ""}]


def test_a_file_sample_is_read_in_the_charset_it_names(run: Invoke, tmp_path: Path) -> None:
    """`@FILE` reads the bytes, which the XML declaration (or the type's charset) decodes."""
    sample = tmp_path / "order.xml"
    sample.write_bytes('<?xml version="1.0" encoding="ISO-8859-1"?><city>Köln</city>'.encode("latin-1"))
    result = run("--content-type", "text/xml", f"@{sample}", "--json")
    assert json.loads(result.output) == {"parsed": {"city": "Köln"}, "paths": ["city"]}
    text = tmp_path / "note.txt"
    text.write_bytes(b"caf\xe9")
    as_text = run("--content-type", "text/plain; charset=latin-1", f"@{text}", "--json")
    assert json.loads(as_text.output)["parsed"] == "café"


def test_stdin_is_read_with_a_dash(run: Invoke) -> None:
    """`-` reads the sample from stdin, here NDJSON."""
    result = run("--content-type", "application/x-ndjson", "-", "--json", input='{"id": 1}\n{"id": 2}\n')
    assert json.loads(result.output)["paths"] == ["[0]", "[0].id"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--content-type", "application/xml", "<a><b></a>"],
            "not valid XML: mismatched tag at line 1, column 9",
        ),
        (["--content-type", "image/png", "x"], "it parses application/json"),
        (["@/no/such/sample.xml"], "No such file or directory"),
    ],
    ids=["malformed", "unsupported-type", "missing-file"],
)
def test_a_sample_that_cannot_be_parsed_exits_2(run: Invoke, args: list[str], says: str) -> None:
    """A malformed sample, an unsupported type or a missing file is invalid input: exit 2 and why."""
    result = run(*args)
    assert result.exit_code == 2
    assert says in result.stderr


def test_a_sample_over_the_limit_exits_2(run: Invoke) -> None:
    """Samples are bounded from stdin as from anywhere."""
    result = run("--content-type", "text/plain", "-", input="x" * (1024 * 1024 + 1))
    assert result.exit_code == 2
    assert "larger than" in result.stderr
