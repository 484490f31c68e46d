"""Tests for parsing request bodies by content type."""

from __future__ import annotations

import encodings
import pkgutil

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.errors import RejectedRequest
from hookline.trigger.body import MAX_NDJSON_LINES, BodyLimits, is_json_type, media_type, parse_body


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
        "application/cloudevents+json; charset=UTF-8",
        " application/problem+JSON ",
    ],
)
def test_json_types_are_recognised(content_type: str) -> None:
    """application/json and any application/*+json type count as JSON, whatever the case or parameters."""
    assert is_json_type(content_type)


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "text/json", "application/jsonx", "application/xml", "+json"]
)
def test_other_types_are_not_json(content_type: str | None) -> None:
    """Types that are not JSON are not taken for it."""
    assert not is_json_type(content_type)


def test_media_type_drops_parameters_and_case() -> None:
    """The media type is the lower-cased part before any parameter."""
    assert media_type("Multipart/Form-Data; boundary=XyZ") == "multipart/form-data"
    assert media_type(None) == ""


def test_json_body_is_parsed() -> None:
    """A JSON body becomes its value, nested objects and numbers included."""
    raw = b'{"order": {"id": 7, "items": [{"sku": "A"}], "paid": true, "note": null}}'
    assert parse_body("application/json; charset=utf-8", raw) == {
        "order": {"id": 7, "items": [{"sku": "A"}], "paid": True, "note": None}
    }


def test_plus_json_body_is_parsed() -> None:
    """A +json type is parsed like application/json, and top-level scalars and lists are allowed."""
    assert parse_body("application/cloudevents+json", b'[1, "two"]') == [1, "two"]
    assert parse_body("application/json", b'"text"') == "text"


def test_byte_order_mark_is_ignored() -> None:
    """A leading UTF-8 byte order mark does not make valid JSON malformed."""
    assert parse_body("application/json", b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_empty_json_body_is_none() -> None:
    """An empty body with a JSON content type is null, not an error."""
    assert parse_body("application/json", b"") is None


def test_other_content_types_give_none() -> None:
    """Types hookline does not read (yet), and a missing type, give a null body: nothing is guessed."""
    assert parse_body("application/octet-stream", b"hello") is None
    assert parse_body(None, b'{"a": 1}') is None
    assert parse_body("application/xmlish", b"<a/>") is None
    assert parse_body("multipart/form-data; boundary=x", b"--x--") is None


def test_malformed_json_is_a_400_with_its_position() -> None:
    """Malformed JSON raises a 400 `malformed_json` saying where it breaks."""
    with pytest.raises(RejectedRequest) as caught:
        parse_body("application/json", b'{"a": 1,\n "b": }')
    error = caught.value
    assert (error.status, error.code) == (400, "malformed_json")
    assert error.message.startswith("The request body is not valid JSON: ")
    assert "line 2, column 7" in error.message
    assert error.message.endswith(".")


def test_invalid_utf8_is_malformed_json_with_its_byte_offset() -> None:
    """Bytes that are not UTF-8 are malformed JSON, and the message gives the offending byte."""
    with pytest.raises(RejectedRequest) as caught:
        parse_body("application/json", b'{"a": "\xff"}')
    assert caught.value.code == "malformed_json"
    assert "not valid UTF-8 at byte 7" in caught.value.message


@pytest.mark.parametrize("raw", [b"   ", b"{", b"[1,]", b"NaN", b'{"a": 1} trailing', b"{'a': 1}"])
def test_not_quite_json_is_rejected(raw: bytes) -> None:
    """Whitespace only, truncated, trailing commas, NaN, trailing text and single quotes are all 400."""
    with pytest.raises(RejectedRequest) as caught:
        parse_body("application/json", raw)
    assert caught.value.status == 400


JSON_REFUSALS = {"malformed_json", "json_too_deep", "nul_character", "number_out_of_range"}
"""The codes of the 400s a JSON body may get (see `storable` for the last three)."""

JSON_DOCUMENTS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
).map(orjson.dumps)
"""Well-formed JSON documents (their strings may hold NUL, which is refused)."""


@given(st.binary(max_size=64) | JSON_DOCUMENTS)
def test_any_bytes_either_parse_or_are_a_400(raw: bytes) -> None:
    """Any bytes parse to the value the JSON parser reads in them, or are a 400 naming a JSON problem."""
    document = raw.removeprefix(b"\xef\xbb\xbf")
    refusal: RejectedRequest | None = None
    try:
        parsed = parse_body("application/json", raw)
    except RejectedRequest as error:
        refusal = error
    if refusal is None:
        assert parsed == (orjson.loads(document) if raw else None)
        return
    assert refusal.status == 400
    assert refusal.code in JSON_REFUSALS
    if refusal.code == "malformed_json":  # only what the parser cannot read is called malformed
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(document)


def test_a_form_body_is_parsed_by_the_query_rules() -> None:
    """A form body's fields nest by qs rules, as the query string's do (Slack, Twilio, Typeform)."""
    raw = b"order[id]=5&order[status]=paid&tags[]=a&tags[]=b&note=two+words&flag"
    assert parse_body("application/x-www-form-urlencoded", raw) == {
        "order": {"id": "5", "status": "paid"},
        "tags": ["a", "b"],
        "note": "two words",
        "flag": None,
    }


def test_a_form_body_is_read_in_its_charset() -> None:
    """Percent-escapes and raw bytes of a form are read in the charset its Content-Type names."""
    content_type = "application/x-www-form-urlencoded; charset=ISO-8859-1"
    assert parse_body(content_type, b"name=Jos%E9&city=K\xf6ln") == {"name": "José", "city": "Köln"}
    assert parse_body("application/x-www-form-urlencoded", b"name=Jos%C3%A9") == {"name": "José"}


def test_too_many_form_fields_is_a_400() -> None:
    """More fields than the limit is refused rather than cut short."""
    raw = "&".join(f"f{index}=1" for index in range(11)).encode()
    with pytest.raises(RejectedRequest) as error:
        parse_body("application/x-www-form-urlencoded", raw, BodyLimits(form_fields=10))
    assert (error.value.status, error.value.code) == (400, "too_many_form_fields")


@pytest.mark.parametrize(
    ("content_type", "raw", "text"),
    [
        ("text/plain", "héllo".encode(), "héllo"),
        ("text/csv; charset=utf-16", "a,b\n1,2".encode("utf-16"), "a,b\n1,2"),
        ('text/plain; charset="windows-1252"', b"\x80 5", "€ 5"),
        ("text/plain", b"", ""),
    ],
)
def test_a_text_body_is_its_text(content_type: str, raw: bytes, text: str) -> None:
    """`text/*` bodies are their text, decoded in their charset (UTF-8 by default)."""
    assert parse_body(content_type, raw) == text


@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/xml; charset=utf-8", "application/atom+xml", "image/svg+xml"]
)
def test_xml_types_are_parsed_as_xml_not_text(content_type: str) -> None:
    """`application/xml`, `text/xml` and every `+xml` type give the document's dict, not its text."""
    assert parse_body(content_type, b"<a>1</a>") == {"a": "1"}


@pytest.mark.parametrize(
    ("content_type", "raw", "status", "code"),
    [
        ("text/plain", b"caf\xe9", 400, "malformed_text"),
        ("text/plain; charset=nope", b"x", 415, "unsupported_charset"),
        ("text/plain; charset=rot13", b"x", 415, "unsupported_charset"),
        ("text/plain", b"a\x00b", 400, "nul_character"),
        ("application/x-www-form-urlencoded", b"a=1%00", 400, "nul_character"),
        ("text/plain; charset=utf-7", b"a+2AA-", 415, "unsupported_charset"),
        ("text/plain; charset=unicode-escape", b"a\\ud800", 415, "unsupported_charset"),
        ("text/plain; charset=undefined", b"x", 415, "unsupported_charset"),
    ],
)
def test_text_that_cannot_be_read_or_stored_is_refused(
    content_type: str, raw: bytes, status: int, code: str
) -> None:
    """Bytes that are not text in the charset, an unknown charset (or a codec that is no charset), or a NUL
    character are refused."""
    with pytest.raises(RejectedRequest) as error:
        parse_body(content_type, raw)
    assert (error.value.status, error.value.code) == (status, code)


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/jsonl", "application/ndjson"])
def test_an_ndjson_body_is_the_list_of_its_lines(content_type: str) -> None:
    """Each non-blank line is one JSON value; CRLF line ends and blank lines are fine."""
    raw = b'{"a": 1}\r\n\n[2, 3]\n"four"\n'
    assert parse_body(content_type, raw) == [{"a": 1}, [2, 3], "four"]
    assert parse_body(content_type, b"") == []


@pytest.mark.parametrize(
    ("raw", "code", "line"),
    [
        (b'{"a": 1}\n1, 2\n', "malformed_json", "Line 2"),
        (b'{"a": 1}\n{"a": }\n', "malformed_json", "Line 2"),
        (b'1\n2\n{"n": 18446744073709551616}', "number_out_of_range", "Line 3"),
        (b'"a\\u0000"\n', "nul_character", "Line 1"),
    ],
)
def test_a_bad_ndjson_line_is_a_400_naming_it(raw: bytes, code: str, line: str) -> None:
    """One bad line refuses the body, and the message says which line (two values on one line too)."""
    with pytest.raises(RejectedRequest) as error:
        parse_body("application/x-ndjson", raw)
    assert (error.value.status, error.value.code) == (400, code)
    assert error.value.message.startswith(f"{line} of the NDJSON body")


def test_an_ndjson_line_has_the_json_depth_limit() -> None:
    """Each line may nest as deep as the JSON limit, and no deeper."""
    assert parse_body("application/x-ndjson", b"[[1]]", BodyLimits(json_depth=2)) == [[[1]]]
    with pytest.raises(RejectedRequest):
        parse_body("application/x-ndjson", b"[[[1]]]", BodyLimits(json_depth=2))


def test_too_many_ndjson_lines_is_a_400() -> None:
    """More than `MAX_NDJSON_LINES` lines is refused before any is parsed."""
    with pytest.raises(RejectedRequest) as error:
        parse_body("application/x-ndjson", b"1\n" * MAX_NDJSON_LINES)
    assert error.value.code == "too_many_lines"


CODECS = sorted({module.name for module in pkgutil.iter_modules(encodings.__path__)} - {"aliases"})


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_every_codec_python_has_either_gives_storable_text_or_is_refused(content_type: str) -> None:
    """Whatever charset a request names, its body is refused or stored: no codec escapes as a 500.

    (`idna`, `punycode` and `undefined` used to raise a bare UnicodeError, and `utf-7` or
    `unicode-escape` to give lone surrogates that storage refused.)
    """
    bodies = [b"a=%FF%FE", b"a=%2B2AA-&b=%5Cud800", b"<a>\\ud800+2AA-</a>", b"xn--abc-", b"\xff\xfe\x00\xd8"]
    refused: set[int] = set()
    for codec in CODECS:
        for raw in bodies:
            try:
                value = parse_body(f"{content_type}; charset={codec}", raw)
            except RejectedRequest as error:
                refused.add(error.status)
            else:
                orjson.dumps(value)  # raises for what storage could not write
    assert refused <= {400, 415}
