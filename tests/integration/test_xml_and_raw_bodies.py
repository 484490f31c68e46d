"""XML bodies and `config.request.rawBody` through real HTTP requests into the app, on both databases."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from hookline.store.execution_history import ExecutionFilter
from hookline.types import JsonObject
from tests._workflows import chain
from tests._xml_documents import BILLION_LAUGHS, external_entity_documents
from tests.integration.conftest import Server, example

AUTH = ("shop", "s3cret")
ORDER_XML = b'<?xml version="1.0"?>\n<order>\n  <id>5</id>\n  <status>paid</status>\n</order>\n'


def raw_body_chain(*, raw_body: bool = True) -> JsonObject:
    """An asynchronous workflow of one End node that keeps (or not) the raw body."""
    workflow = chain("end")
    workflow["config"] = {"request": {"rawBody": raw_body}}
    return workflow


@pytest.fixture
async def on_each_database(
    make_server: Callable[..., Any], database: dict[str, str]
) -> AsyncIterator[Server]:
    """A server without workers (what is queued stays as recorded), on SQLite and on PostgreSQL."""
    async with make_server(workers=0, **database) as server:
        yield server


async def recorded_context(server: Server, key: str, body: bytes, content_type: str) -> dict[str, Any]:
    """POST a body to an asynchronous workflow; the context its execution was recorded with."""
    response = await server.post(key, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    execution = await server.runtime.store.get_execution(int(response.headers["x-hookline-execution"]))
    assert execution is not None
    return dict(execution.context)


async def executions(server: Server) -> int:
    """How many executions the server recorded."""
    return len(await server.runtime.store.list_executions(ExecutionFilter(limit=100)))


# -- XML ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/xml; charset=utf-8", "application/soap+xml"]
)
async def test_an_xml_body_takes_the_branch_its_elements_say(server: Server, content_type: str) -> None:
    """An XML order reaches the condition as `{"order": {"id", "status"}}`; it used to arrive null."""
    key = await server.load(example("order-paid.json"))
    response = await server.post(key, content=ORDER_XML, headers={"Content-Type": content_type}, auth=AUTH)
    assert response.status_code == 200
    assert response.headers["x-order"] == "5"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/xml; charset=iso-8859-1", "<city>Köln</city>".encode("latin-1")),
        (
            "application/xml",
            '<?xml version="1.0" encoding="windows-1252"?><city>Köln</city>'.encode("cp1252"),
        ),
        ("application/xml", "<city>Köln</city>".encode("utf-16")),
    ],
    ids=["header", "declaration", "utf-16-bom"],
)
async def test_an_xml_body_in_another_charset_is_stored_as_its_text(
    on_each_database: Server, content_type: str, body: bytes
) -> None:
    """The charset from the header, the declaration or the byte order mark decides the stored text."""
    key = await on_each_database.load(chain("end"))
    context = await recorded_context(on_each_database, key, body, content_type)
    assert context["body"] == {"city": "Köln"}


async def test_unsafe_xml_is_refused_and_nothing_is_read_or_recorded(
    on_each_database: Server, tmp_path: Path
) -> None:
    """An entity bomb and external entities naming a real file are 400s: no file content, no execution."""
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("top-secret-91ab")
    key = await on_each_database.load(chain("end"))
    for body in [BILLION_LAUGHS, *external_entity_documents(secret_file)]:
        response = await on_each_database.post(key, content=body, headers={"Content-Type": "application/xml"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "xml_dtd_forbidden"
        assert "top-secret" not in response.text
    assert await executions(on_each_database) == 0


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        (b"<order>\n  <id>5</id>\n</ordr>", "malformed_xml", "mismatched tag at line 3, column 3"),
        (b"<a>" * 65 + b"</a>" * 65, "xml_too_deep", "deeper than 64 levels"),
        (b"<a>\x00</a>", "nul_character", "NUL"),
    ],
    ids=["malformed", "too-deep", "nul"],
)
async def test_xml_that_cannot_be_read_or_stored_is_a_400(
    server: Server, body: bytes, code: str, says: str
) -> None:
    """Malformed XML names its line and column; too deep or holding NUL is refused too; nothing runs."""
    key = await server.load(chain("end"))
    response = await server.post(key, content=body, headers={"Content-Type": "application/xml"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert says in error["message"]
    assert await executions(server) == 0


# -- the raw body ------------------------------------------------------------------------------


async def test_the_raw_body_is_not_kept_unless_asked(server: Server) -> None:
    """Without `rawBody: true` (the default) the recorded context has no raw body."""
    for workflow in (chain("end"), raw_body_chain(raw_body=False)):
        key = await server.load(workflow)
        context = await recorded_context(server, key, b'{"a": 1}', "application/json")
        assert set(context) == {"headers", "query", "body"}


@pytest.mark.parametrize(
    ("content_type", "body", "raw_body", "encoding"),
    [
        ("application/json", b'{"b": 2,  "a": "\xc3\xa9"}', '{"b": 2,  "a": "é"}', "text"),
        ("text/plain; charset=iso-8859-1", b"caf\xe9", "café", "text"),
        (
            "application/octet-stream",
            bytes(range(256)),
            base64.b64encode(bytes(range(256))).decode(),
            "base64",
        ),
        ("application/octet-stream", b"a\x00b", "YQBi", "base64"),
    ],
    ids=["json-as-sent", "latin-1-text", "binary", "nul"],
)
async def test_the_raw_body_is_kept_as_text_or_base64(
    on_each_database: Server, content_type: str, body: bytes, raw_body: str, encoding: str
) -> None:
    """Text in its charset is kept as text, byte for byte as sent; other bytes (NUL included) as base64."""
    key = await on_each_database.load(raw_body_chain())
    context = await recorded_context(on_each_database, key, body, content_type)
    assert (context["rawBody"], context["rawBodyEncoding"]) == (raw_body, encoding)


async def test_a_text_body_with_nul_is_refused_even_with_the_raw_body_kept(on_each_database: Server) -> None:
    """A `text/*` body holding NUL cannot be its parsed text: 400, with or without `rawBody`."""
    key = await on_each_database.load(raw_body_chain())
    response = await on_each_database.post(key, content=b"a\x00b", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nul_character"
    assert await executions(on_each_database) == 0


async def test_a_workflow_reads_the_raw_body_in_its_templates(server: Server) -> None:
    """`{{$context.rawBody}}` is the body as sent, whitespace and key order kept, beside the parsed one."""
    workflow = chain("response", sync=True)
    workflow["config"] = {"request": {"rawBody": True}}
    workflow["nodes"][0]["config"] = {
        "statusCode": 200,
        "headers": [{"name": "X-Encoding", "value": "{{$context.rawBodyEncoding}}"}],
        "body": "{{$context.rawBody}}|{{$context.body.b}}",
    }
    key = await server.load(workflow)
    response = await server.post(
        key, content=b'{"b": 2,  "a": 1}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["x-encoding"] == "text"
    assert response.text == '{"b": 2,  "a": 1}|2'
