"""`multipart/form-data` bodies, parsed as they stream: fields nested by the qs rules, files described.

python-multipart (the parser Starlette uses) reads the body chunk by chunk and calls back for each
part's headers and bytes. A part with a `filename` is a file: its bytes go to `Uploads` (hashed,
and stored when the workflow keeps files), never held whole. Other parts are fields, whose names
nest as a form body's do (`order[items][0][sku]`): the fields and files are handed to the same qs
parser as `x-www-form-urlencoded` bodies, each file as a placeholder that becomes its description
(`{filename, contentType, size, sha256, id}`) afterwards; several files under one name make a list.

Limits: at most `BodyLimits.form_fields` parts (`400 too_many_parts`), a field value of at most
`MAX_FIELD_SIZE` bytes (`413 field_too_large`); the whole body is bounded by the webhook route.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, TypeGuard
from urllib.parse import quote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from hookline.errors import RejectedRequest
from hookline.trigger.body import BodyLimits, media_type
from hookline.trigger.query import parse_form
from hookline.trigger.storable import nul_refused
from hookline.trigger.uploads import FileQuota, FileSink, Upload, Uploads
from hookline.types import JsonObject, JsonValue

MULTIPART_TYPE = "multipart/form-data"

MAX_FIELD_SIZE = 1024 * 1024
"""The most bytes one field's value may have (files are bounded by their quota instead)."""

FEED_SIZE = 64 * 1024
"""A body read whole (to check its signature first) is parsed in slices of this many bytes."""

_LIMITS = BodyLimits()

_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,127}/[a-z0-9!#$&^_.+-]{1,127}")
"""A file's content type as kept (lower-cased by the parser); anything else is `application/octet-stream`."""

_PLACEHOLDER = "\x00"
"""Starts the value standing for a file in the qs parse: no field value can hold NUL (it is refused)."""


def is_multipart(content_type: str | None) -> TypeGuard[str]:
    """Whether a Content-Type is `multipart/form-data`."""
    # Asked of every webhook request: the first letter rules out JSON and the rest at once.
    return (
        content_type is not None and content_type[:1] in "mM" and media_type(content_type) == MULTIPART_TYPE
    )


class MultipartBody:
    """One multipart body being read; `read` or `parse` it once, then `keep` or `release` its files.

    `execution_id` is the id its request's execution will be recorded under, when files are stored.
    """

    def __init__(
        self,
        content_type: str,
        limits: BodyLimits = _LIMITS,
        *,
        sink: FileSink | None = None,
        quota: FileQuota | None = None,
        execution_id: int | None = None,
    ) -> None:
        boundary = parse_options_header(content_type)[1].get(b"boundary")
        if not boundary:
            message = "The multipart/form-data Content-Type names no boundary."
            raise RejectedRequest(400, "missing_boundary", message)
        self._uploads = Uploads(sink, quota, execution_id)
        self._quota = quota
        self._parts_limit = limits.form_fields
        self._parts = 0
        self._pairs: list[tuple[str, str]] = []
        self._files: list[Upload] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name = ""
        self._charset = "utf-8"
        self._value = bytearray()
        self._upload: Upload | None = None
        try:
            self._parser = MultipartParser(boundary, self._callbacks())
        except ValueError as error:  # a boundary longer than the parser accepts
            raise _malformed(str(error)) from None

    def body_limit(self, server_limit: int) -> int:
        """The bound of this request's body: its files' quota (plus fields) when files are stored."""
        return server_limit if self._quota is None else self._quota.body_limit(server_limit)

    async def read(self, chunks: AsyncIterable[bytes]) -> JsonObject:
        """The body's fields and files from its chunks as they arrive (each file stored as it comes)."""
        async for chunk in chunks:
            self._feed(chunk)
            await self._uploads.flush()
        if self._parser.state != MultipartState.END:
            raise _malformed("it ends before its closing boundary")
        await self._uploads.flush()
        return self._body()

    async def parse(self, raw: bytes) -> JsonObject:
        """The body's fields and files from its bytes read whole (to check a signature first)."""
        return await self.read(_slices(raw))

    def describe(self, raw: bytes) -> JsonObject:
        """The fields and file descriptions of a body read whole whose files are not stored (a sample)."""
        self._feed(raw)
        if self._parser.state != MultipartState.END:
            raise _malformed("it ends before its closing boundary")
        return self._body()

    async def keep(self, execution_id: int | None) -> None:
        """The request was recorded as `execution_id` (None: it was not): its stored files join it."""
        await self._uploads.keep(execution_id)

    async def release(self) -> None:
        """Delete the stored files unless they were kept."""
        await self._uploads.release()

    def _feed(self, chunk: bytes) -> None:
        """Parse a chunk; the callbacks collect fields and pass file bytes on."""
        try:
            self._parser.write(chunk)
        except MultipartParseError as error:
            raise _malformed(str(error)) from None

    def _callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > self._parts_limit:
            message = f"The multipart body has more than {self._parts_limit} parts."
            raise RejectedRequest(400, "too_many_parts", message)
        self._headers = {}
        self._value = bytearray()
        self._upload = None

    def _header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = bytes(self._header_value).strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        """A part's headers are in: it is a field or, with a `filename`, a file."""
        disposition, options = parse_options_header(_text(self._headers.get("content-disposition", b"")))
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise _malformed("a part has no Content-Disposition: form-data with a name")
        self._name = _checked(_text(name))
        kind, type_options = parse_options_header(_text(self._headers.get("content-type", b"")))
        filename = options.get(b"filename")
        if filename is not None:
            declared = kind.decode("latin-1")
            content_type = declared if _MEDIA_TYPE.fullmatch(declared) else "application/octet-stream"
            self._upload = self._uploads.start(_checked(_text(filename)), content_type)
            return
        self._charset = type_options.get(b"charset", b"utf-8").decode("latin-1")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._upload is not None:
            self._uploads.add(self._upload, data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_SIZE:
            message = f"The field {self._name!r} is larger than {MAX_FIELD_SIZE} bytes."
            raise RejectedRequest(413, "field_too_large", message)

    def _part_end(self) -> None:
        if self._upload is not None:
            self._upload.ended = True
            self._pairs.append((self._name, f"{_PLACEHOLDER}{len(self._files)}"))
            self._files.append(self._upload)
            return
        self._pairs.append((self._name, _checked(_field_text(self._value, self._charset, self._name))))

    def _body(self) -> JsonObject:
        """The fields nested by the qs rules, each file's placeholder replaced by its description."""
        form = "&".join(f"{quote(name, safe='[]')}={quote(value, safe='')}" for name, value in self._pairs)
        parsed = parse_form(form, field_limit=self._parts_limit)
        described = [upload.description() for upload in self._files]
        return {key: _described(value, described) for key, value in parsed.items()}


def _described(value: JsonValue, files: list[JsonObject]) -> JsonValue:
    """A parsed value with every file placeholder in it replaced by that file's description."""
    if isinstance(value, str):
        return files[int(value[1:])] if value.startswith(_PLACEHOLDER) else value
    if isinstance(value, list):
        return [_described(item, files) for item in value]
    if isinstance(value, dict):
        return {key: _described(item, files) for key, item in value.items()}
    return value


def describe_sample(content_type: str, raw: bytes, limits: BodyLimits = _LIMITS) -> JsonObject:
    """A multipart sample's fields and file descriptions, as `$context.body` holds them; nothing is stored.

    A Content-Type without a boundary takes it from the sample's first line (`--<boundary>`), and a
    sample pasted with bare line feeds is read as the CRLF lines the wire format has.
    """
    if b"\r\n" not in raw:
        raw = raw.replace(b"\n", b"\r\n")
    if not parse_options_header(content_type)[1].get(b"boundary"):
        first = raw.lstrip().partition(b"\r\n")[0]
        if first.startswith(b"--") and len(first) > 2:
            content_type = f"{MULTIPART_TYPE}; boundary={_text(first[2:]).strip()}"
    return MultipartBody(content_type, limits).describe(raw)


def _malformed(detail: str) -> RejectedRequest:
    """The 400 of a body that is not valid multipart/form-data, saying why."""
    return RejectedRequest(
        400, "malformed_multipart", f"The request body is not valid multipart/form-data: {detail}."
    )


def _text(raw: bytes) -> str:
    """A part header's text: UTF-8, as browsers send names and filenames, else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _field_text(value: bytearray, charset: str, name: str) -> str:
    """A field's value in its part's charset; 400 `malformed_multipart` for bytes it cannot be."""
    try:
        return value.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise _malformed(f"the field {name!r} is not valid {charset} text") from None


def _checked(text: str) -> str:
    """A name, filename or value that hookline can store: one holding NUL is a 400."""
    if _PLACEHOLDER in text:
        raise nul_refused("body")
    return text


async def _slices(raw: bytes) -> AsyncIterator[bytes]:
    """A whole body as the chunks a client might have sent, so files are stored as they are streamed."""
    for start in range(0, len(raw), FEED_SIZE):
        yield raw[start : start + FEED_SIZE]
