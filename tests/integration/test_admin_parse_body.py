"""`POST /api/parse/body`: "parse from a sample" for every body format, through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration._admin import error_of, where
from tests.integration.conftest import Server


async def parse(api: Server, **body: Any) -> Any:
    """POST a sample to the route and return the answer (after checking it is a 200)."""
    response = await api.client.post("/api/parse/body", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("content_type", "text", "parsed", "paths"),
    [
        ("application/json", '{"order": {"id": 5}}', {"order": {"id": 5}}, ["order", "order.id"]),
        (
            "application/x-www-form-urlencoded",
            "order[id]=5&order[status]=paid",
            {"order": {"id": "5", "status": "paid"}},
            ["order", "order.id", "order.status"],
        ),
        (
            "application/xml",
            '<order id="5"><line>a</line><line>b</line></order>',
            {"order": {"@id": "5", "line": ["a", "b"]}},
            ["order", "order.@id", "order.line", "order.line[0]"],
        ),
        ("application/x-ndjson", '{"id": 1}\n{"id": 2}', [{"id": 1}, {"id": 2}], ["[0]", "[0].id"]),
        ("text/plain; charset=utf-8", "hello", "hello", []),
    ],
    ids=["json", "form", "xml", "ndjson", "text"],
)
async def test_each_format_gives_its_parsed_value_paths_and_items(
    api: Server, content_type: str, text: str, parsed: Any, paths: list[str]
) -> None:
    """A sample of each format gives what `$context.body` would hold, its paths, and items to add."""
    answer = await parse(api, text=text, contentType=content_type)
    assert answer == {"parsed": parsed, "paths": paths, "items": [{"key": p, "alias": ""} for p in paths]}


async def test_the_content_type_defaults_to_json(api: Server) -> None:
    """Without `contentType` the sample is JSON, as the JSON helper reads it."""
    assert (await parse(api, text='{"a": {"b": 1}}'))["paths"] == ["a", "a.b"]


async def test_a_multipart_sample_gives_the_paths_of_its_fields_and_files(api: Server) -> None:
    """A multipart sample (its boundary taken from its first line) gives its fields' and files' paths."""
    text = '--b\nContent-Disposition: form-data; name="doc"; filename="a.txt"\n\nhi\n--b--\n'
    answer = await parse(api, text=text, contentType="multipart/form-data")
    assert answer["parsed"]["doc"]["filename"] == "a.txt"
    assert answer["paths"] == ["doc", "doc.filename", "doc.contentType", "doc.size", "doc.sha256", "doc.id"]


@pytest.mark.parametrize("content_type", ["image/png", "multipart/mixed; boundary=x", ""])
async def test_a_type_hookline_does_not_read_answers_422_naming_the_supported_ones(
    api: Server, content_type: str
) -> None:
    """An unsupported type is a 422 `unsupported_content_type` listing the types hookline parses."""
    response = await api.client.post("/api/parse/body", json={"text": "x", "contentType": content_type})
    error = error_of(response, 422)
    assert error["code"] == "unsupported_content_type"
    assert "application/x-www-form-urlencoded" in error["message"]
    assert "text/xml" in error["message"]


@pytest.mark.parametrize(
    ("content_type", "text", "says"),
    [
        ("application/xml", "<a><b></a>", "not valid XML: mismatched tag at line 1, column 9"),
        ("application/xml", '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "document type declaration"),
        ("application/json", "{nope", "not valid JSON"),
        ("application/x-ndjson", '{"a": 1}\n{', "Line 2 of the NDJSON body"),
        ("application/json", "[" * 100 + "]" * 100, "deeper than 64 levels"),
    ],
    ids=["malformed-xml", "dtd", "malformed-json", "ndjson-line", "too-deep"],
)
async def test_a_malformed_sample_answers_422_with_the_parsers_message(
    api: Server, content_type: str, text: str, says: str
) -> None:
    """What a webhook would refuse with a 400 is a 422 `invalid_sample` here, never a 500."""
    response = await api.client.post("/api/parse/body", json={"text": text, "contentType": content_type})
    error = error_of(response, 422)
    assert error["code"] == "invalid_sample"
    assert says in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contentType": "application/json"}, "body.text"),
        ({"text": 5}, "body.text"),
        ({"text": "", "x": 1}, "body.x"),
    ],
)
async def test_a_request_without_text_answers_422_naming_the_field(
    api: Server, body: Any, field: str
) -> None:
    """The sample must be text, and no other field is accepted."""
    error = error_of(await api.client.post("/api/parse/body", json=body), 422)
    assert where(error) == [field]


async def test_the_route_needs_the_admin_token(server: Server) -> None:
    """Like every admin route, the helper answers 401 without the token."""
    response = await server.client.post("/api/parse/body", json={"text": "{}"})
    assert error_of(response, 401)["code"] == "unauthorized"
