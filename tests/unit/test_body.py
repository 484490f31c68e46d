"""Tests for parsing request bodies by content type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.errors import RejectedRequest
from hookline.trigger.body import is_json_type, media_type, parse_body


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
    """Types hookline does not read yet, and a missing type, give a null body."""
    assert parse_body("text/plain", b"hello") is None
    assert parse_body(None, b'{"a": 1}') is None
    assert parse_body("application/x-www-form-urlencoded", b"a=1") is None


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


@given(st.binary(max_size=64))
def test_any_bytes_either_parse_or_are_a_400(raw: bytes) -> None:
    """Arbitrary bytes never escape as anything but a 400 RejectedRequest."""
    try:
        parse_body("application/json", raw)
    except RejectedRequest as error:
        status = error.status
    else:
        status = 200
    assert status in {200, 400}
