"""Tests for "parse from a sample" with a body of any format: JSON, form, XML, NDJSON, text, multipart."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from hookline.errors import RejectedRequest
from hookline.expressions.templates import resolve_path
from hookline.trigger.samples import MAX_SAMPLE_BYTES, parse_sample_of_type


@pytest.mark.parametrize(
    ("content_type", "sample", "parsed", "paths"),
    [
        (
            "application/json",
            '{"a": 1, "b": {"c": [2]}}',
            {"a": 1, "b": {"c": [2]}},
            ["a", "b", "b.c", "b.c[0]"],
        ),
        ("application/vnd.shop+json", "[1]", [1], ["[0]"]),
        (
            "application/x-www-form-urlencoded",
            "order[id]=5&order[tags][]=a&note",
            {"order": {"id": "5", "tags": ["a"]}, "note": None},
            ["order", "order.id", "order.tags", "order.tags[0]", "note"],
        ),
        (
            "text/xml",
            '<order id="5"><item>a</item><item>b</item></order>',
            {"order": {"@id": "5", "item": ["a", "b"]}},
            ["order", "order.@id", "order.item", "order.item[0]"],
        ),
        ("application/x-ndjson", '{"id": 1}\n{"id": 2}\n', [{"id": 1}, {"id": 2}], ["[0]", "[0].id"]),
        ("text/plain", "just words", "just words", []),
        ("application/json", "", None, []),
    ],
    ids=["json", "plus-json", "form", "xml", "ndjson", "text", "empty-json"],
)
def test_a_sample_is_parsed_as_a_body_of_its_type(
    content_type: str, sample: str, parsed: Any, paths: list[str]
) -> None:
    """Each format gives the value `$context.body` would hold, and the paths of the JSON helper's rules."""
    assert parse_sample_of_type(sample, content_type) == (parsed, paths)


def test_every_path_of_an_xml_sample_reads_back_its_value() -> None:
    """`@attribute` and `#text` keys come out as paths that templates resolve."""
    parsed, paths = parse_sample_of_type('<p lang="en">Hi <b>you</b></p>', "application/xml")
    assert paths == ["p", "p.@lang", "p.b", "p.#text"]
    assert [resolve_path(parsed, path) for path in paths[1:]] == ["en", "you", "Hi"]


def test_a_text_sample_is_read_as_the_text_it_is() -> None:
    """Given as text, a sample's characters stand: a charset in the type or the document does not apply."""
    sample = '<?xml version="1.0" encoding="ISO-8859-1"?><city>Köln €</city>'
    assert parse_sample_of_type(sample, "application/xml; charset=iso-8859-1")[0] == {"city": "Köln €"}
    assert parse_sample_of_type("name=Jos%C3%A9", "application/x-www-form-urlencoded; charset=latin-1")[
        0
    ] == {"name": "José"}


def test_a_bytes_sample_is_read_as_a_request_body() -> None:
    """Given as bytes (a file), the sample is read in the charset its type or declaration names."""
    declared = '<?xml version="1.0" encoding="ISO-8859-1"?><city>Köln</city>'.encode("latin-1")
    assert parse_sample_of_type(declared, "text/xml")[0] == {"city": "Köln"}
    assert parse_sample_of_type(b"caf\xe9", "text/plain; charset=latin-1")[0] == "café"


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", "multipart/mixed", ""])
def test_a_type_hookline_does_not_read_is_a_422_naming_the_supported_ones(content_type: str) -> None:
    """An unsupported type is `422 unsupported_content_type`, and the message lists what hookline reads."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_of_type("x", content_type)
    assert (error.value.status, error.value.code) == (422, "unsupported_content_type")
    for named in (
        "application/json",
        "application/x-www-form-urlencoded",
        "text/xml",
        "application/x-ndjson",
        "multipart/form-data",
    ):
        assert named in error.value.message


MULTIPART_SAMPLE = (
    "--XyZ\n"
    'Content-Disposition: form-data; name="order[id]"\n'
    "\n"
    "42\n"
    "--XyZ\n"
    'Content-Disposition: form-data; name="invoice"; filename="invoice.pdf"\n'
    "Content-Type: application/pdf\n"
    "\n"
    "%PDF\n"
    "--XyZ--\n"
)
"""A multipart body as people paste it: bare line feeds, and a boundary only its first line names."""


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=XyZ"], ids=["found", "given"]
)
def test_a_multipart_sample_gives_its_fields_and_file_descriptions(content_type: str) -> None:
    """A pasted multipart sample (LF lines) is read as the CRLF wire format, its boundary taken from its
    first line when the type names none; each file is described as a request's is, with no id."""
    parsed, paths = parse_sample_of_type(MULTIPART_SAMPLE, content_type)
    assert parsed == {
        "order": {"id": "42"},
        "invoice": {
            "filename": "invoice.pdf",
            "contentType": "application/pdf",
            "size": 4,
            "sha256": hashlib.sha256(b"%PDF").hexdigest(),
            "id": None,
        },
    }
    assert paths[:3] == ["order", "order.id", "invoice"]
    assert "invoice.sha256" in paths


def test_a_multipart_sample_without_its_closing_boundary_is_a_422() -> None:
    """A sample cut short is `422 invalid_sample`, saying it ends before its closing boundary."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_of_type(MULTIPART_SAMPLE.removesuffix("--XyZ--\n"), "multipart/form-data")
    assert (error.value.status, error.value.code) == (422, "invalid_sample")
    assert "closing boundary" in error.value.message


@pytest.mark.parametrize(
    ("content_type", "sample", "says"),
    [
        ("application/xml", "<a><b></a>", "The sample is not valid XML: mismatched tag at line 1, column 9."),
        ("application/xml", '<!DOCTYPE a [<!ENTITY x "y">]><a/>', "document type declaration"),
        ("application/json", '{"a": }', "The sample is not valid JSON"),
        ("application/x-ndjson", "1\n{", "Line 2 of the NDJSON body"),
        ("text/plain", "a\ud800", "not valid utf-8 text"),
        ("text/plain; charset=nope", b"abc", "cannot read the charset 'nope'"),
    ],
    ids=["malformed-xml", "dtd", "malformed-json", "ndjson-line", "lone-surrogate", "unknown-charset"],
)
def test_a_sample_its_parser_refuses_is_a_422_with_the_parsers_message(
    content_type: str, sample: str | bytes, says: str
) -> None:
    """Whatever the parser refuses (400 or 415 for a request) is `422 invalid_sample` with its message."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_of_type(sample, content_type)
    assert (error.value.status, error.value.code) == (422, "invalid_sample")
    assert says in error.value.message


def test_a_large_sample_of_any_type_is_refused() -> None:
    """The size limit holds for every format, before anything is parsed."""
    with pytest.raises(RejectedRequest) as error:
        parse_sample_of_type("<a>" + "x" * MAX_SAMPLE_BYTES + "</a>", "application/xml")
    assert (error.value.status, error.value.code) == (413, "sample_too_large")
