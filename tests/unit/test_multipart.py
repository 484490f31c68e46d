"""multipart/form-data bodies: real bodies made by httpx, parsed into nested fields and file descriptions."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from hookline.errors import RejectedRequest
from hookline.trigger.body import BodyLimits
from hookline.trigger.multipart import MAX_FIELD_SIZE, MultipartBody, is_multipart
from hookline.types import JsonObject

DEFAULT_LIMITS = BodyLimits()


def encoded(data: dict[str, Any] | None = None, files: Any = None) -> tuple[str, bytes]:
    """The Content-Type and bytes httpx sends for a multipart form with these fields and files.

    Fields go as parts without a filename, so that a form without files is still multipart.
    """
    parts: list[tuple[str, Any]] = []
    for name, value in (data or {}).items():
        parts += [(name, (None, item)) for item in (value if isinstance(value, list) else [value])]
    parts += list(files.items()) if isinstance(files, dict) else list(files or [])
    request = httpx.Request("POST", "http://hookline.test/", files=parts)
    return request.headers["content-type"], request.read()


def handmade(*parts: bytes, boundary: str = "b0undary") -> tuple[str, bytes]:
    """A multipart body of raw parts (each its headers, a blank line and its bytes), as some senders make."""
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts)
    return f"multipart/form-data; boundary={boundary}", body + f"--{boundary}--\r\n".encode()


async def parsed(content_type: str, raw: bytes, limits: BodyLimits = DEFAULT_LIMITS) -> JsonObject:
    """The body hookline makes of a multipart body (files described, not stored)."""
    return await MultipartBody(content_type, limits).parse(raw)


def digest(data: bytes) -> str:
    """The hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


async def refusal(content_type: str, raw: bytes, limits: BodyLimits = DEFAULT_LIMITS) -> RejectedRequest:
    """The refusal a multipart body gets."""
    with pytest.raises(RejectedRequest) as refused:
        await parsed(content_type, raw, limits)
    return refused.value


async def test_field_names_nest_by_the_qs_rules() -> None:
    """Bracketed field names nest as a form body's do; repeated `[]` names make a list."""
    content_type, raw = encoded({"order[id]": "5", "order[items][0][sku]": "a b+c&d=e", "tags[]": ["x", "y"]})
    assert await parsed(content_type, raw) == {
        "order": {"id": "5", "items": [{"sku": "a b+c&d=e"}]},
        "tags": ["x", "y"],
    }


async def test_a_file_is_described_with_its_size_and_sha256() -> None:
    """A file part becomes its filename, content type, size and digest; without storage its id is null."""
    content = b"%PDF-1.7 \x00\x01\x02"
    content_type, raw = encoded({"note": "hi"}, {"doc": ("report.pdf", content, "application/pdf")})
    assert await parsed(content_type, raw) == {
        "note": "hi",
        "doc": {
            "filename": "report.pdf",
            "contentType": "application/pdf",
            "size": len(content),
            "sha256": digest(content),
            "id": None,
        },
    }


async def test_several_files_under_one_name_make_a_list() -> None:
    """Two files sent under one field name are a list, in the order sent, as qs makes repeated keys."""
    files = [("docs", ("a.txt", b"first", "text/plain")), ("docs", ("b.txt", b"second", "text/plain"))]
    body = await parsed(*encoded(None, files))
    assert [(doc["filename"], doc["sha256"]) for doc in body["docs"]] == [
        ("a.txt", digest(b"first")),
        ("b.txt", digest(b"second")),
    ]


async def test_a_file_under_a_nested_name_lands_inside_the_fields() -> None:
    """A file's name nests like a field's, beside the fields of the same object."""
    content_type, raw = encoded({"order[id]": "7"}, {"order[invoice]": ("i.txt", b"x", "text/plain")})
    body = await parsed(content_type, raw)
    assert body["order"]["id"] == "7"
    assert body["order"]["invoice"]["filename"] == "i.txt"


async def test_the_body_parses_the_same_in_any_chunks() -> None:
    """Fed one byte at a time, as a slow client sends it, the body parses to the same value."""
    content_type, raw = encoded(
        {"a": "1"}, {"f": ("f.bin", bytes(range(256)) * 40, "application/octet-stream")}
    )

    async def bytewise() -> Any:
        for index in range(len(raw)):
            yield raw[index : index + 1]

    assert await MultipartBody(content_type).read(bytewise()) == await parsed(content_type, raw)


async def test_a_field_in_another_charset_is_decoded_in_it() -> None:
    """A field part whose Content-Type names a charset is read in that charset."""
    part = (
        b'Content-Disposition: form-data; name="city"\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n'
    )
    assert await parsed(*handmade(part + "Zürich".encode("iso-8859-1"))) == {"city": "Zürich"}


async def test_an_odd_file_content_type_is_kept_as_octet_stream() -> None:
    """A file type that is not a plain media type (it could break a header later) is octet-stream."""
    content_type, raw = encoded(None, {"f": ("f", b"x", "text/html\x7f; x")})
    assert (await parsed(content_type, raw))["f"]["contentType"] == "application/octet-stream"


async def test_a_missing_boundary_is_a_400() -> None:
    """A multipart Content-Type without a boundary cannot be parsed: 400 `missing_boundary`."""
    with pytest.raises(RejectedRequest) as refused:
        MultipartBody("multipart/form-data")
    assert (refused.value.status, refused.value.code) == (400, "missing_boundary")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda raw: raw[:-12], id="truncated"),
        pytest.param(lambda raw: b"garbage" + raw, id="garbage-first"),
        pytest.param(lambda raw: b"", id="empty"),
        pytest.param(lambda raw: raw.replace(b"Content-Disposition", b"Content-Dispositiom"), id="no-name"),
    ],
)
async def test_malformed_multipart_is_a_400(damage: Any) -> None:
    """A body that is not well-formed multipart is 400 `malformed_multipart`, saying why."""
    content_type, raw = encoded({"a": "1"}, {"f": ("f.txt", b"x" * 100, "text/plain")})
    refused = await refusal(content_type, damage(raw))
    assert (refused.status, refused.code) == (400, "malformed_multipart")
    assert refused.message.startswith("The request body is not valid multipart/form-data: ")


async def test_too_many_parts_are_a_400() -> None:
    """More parts than the form field limit is 400 `too_many_parts`; the limit itself passes."""
    fields = {f"f{index}": "v" for index in range(5)}
    content_type, raw = encoded(fields)
    assert len(await parsed(content_type, raw, BodyLimits(form_fields=5))) == 5
    refused = await refusal(content_type, raw, BodyLimits(form_fields=4))
    assert (refused.status, refused.code) == (400, "too_many_parts")


async def test_a_field_over_the_size_limit_is_a_413() -> None:
    """A field value over `MAX_FIELD_SIZE` bytes is 413 `field_too_large`; a file that size is not."""
    refused = await refusal(*encoded({"big": "x" * (MAX_FIELD_SIZE + 1)}))
    assert (refused.status, refused.code) == (413, "field_too_large")
    body = await parsed(*encoded(None, {"big": ("big", b"x" * (MAX_FIELD_SIZE + 1), "text/plain")}))
    assert body["big"]["size"] == MAX_FIELD_SIZE + 1


@pytest.mark.parametrize(
    "part",
    [
        pytest.param(b'Content-Disposition: form-data; name="a"\r\n\r\nx\x00y', id="value"),
        pytest.param(b'Content-Disposition: form-data; name="a\x00"\r\n\r\nx', id="name"),
        pytest.param(
            b'Content-Disposition: form-data; name="f"; filename="a\x00.txt"\r\n\r\nx', id="filename"
        ),
    ],
)
async def test_a_nul_character_is_a_400(part: bytes) -> None:
    """A NUL in a field name, value or filename cannot be stored: 400 `nul_character`."""
    refused = await refusal(*handmade(part))
    assert (refused.status, refused.code) == (400, "nul_character")


async def test_a_field_not_in_its_charset_is_a_400() -> None:
    """Field bytes that are not valid in their charset are 400 `malformed_multipart`."""
    refused = await refusal(*handmade(b'Content-Disposition: form-data; name="a"\r\n\r\n\xff\xfe'))
    assert (refused.status, refused.code) == (400, "malformed_multipart")


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("multipart/form-data; boundary=x", True),
        ("Multipart/Form-Data;boundary=x", True),
        ("multipart/mixed; boundary=x", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
def test_only_form_data_is_read_as_multipart(content_type: str | None, expected: bool) -> None:
    """`multipart/form-data` is read as a form, in any case; other multipart types are not."""
    assert is_multipart(content_type) is expected
