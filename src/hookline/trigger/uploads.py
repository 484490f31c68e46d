"""The files of a multipart body: each hashed as it streams, and stored when `config.request.files` asks.

`config.request.files` is `false` (the default: a file is described, its bytes are dropped) or
`{"maxFileSize": <bytes>, "maxTotal": <bytes>}`: the bytes are stored in the database, chunk by
chunk as they arrive (never held whole), and a file or a request over its quota is refused with
`413` before anything runs. Files stored for a request that is then refused or never recorded are
deleted; once its execution is recorded they belong to it and are deleted with it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from hookline.errors import Problem, RejectedRequest, StorageUnavailable, unknown_fields
from hookline.ids import new_id
from hookline.store.file_store import StoredFile
from hookline.types import JsonObject

log = logging.getLogger(__name__)

CHUNK_SIZE = 256 * 1024
"""The bytes of one stored chunk: the most of a file held in memory while it streams."""

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
"""`maxFileSize` when the setting leaves it out: 10 MiB."""

DEFAULT_MAX_TOTAL = 25 * 1024 * 1024
"""`maxTotal` when the setting leaves it out: 25 MiB per request."""

MAX_QUOTA = 1024 * 1024 * 1024
"""The largest `maxFileSize` and `maxTotal` a workflow may set: 1 GiB per request, kept in the database."""

FIELDS_MARGIN = 1024 * 1024
"""What a request with stored files may carry besides them (fields, part headers): its bound is
`maxTotal` plus this, or the server's body limit when that is larger."""


@dataclass(frozen=True, slots=True)
class FileQuota:
    """`config.request.files` when on: the largest file, and the most bytes of files in one request."""

    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_total: int = DEFAULT_MAX_TOTAL

    @classmethod
    def of(cls, config: JsonObject) -> FileQuota | None:
        """The quota a (valid) trigger config sets; None when files are not stored."""
        request = config.get("request")
        setting = request.get("files") if isinstance(request, dict) else None
        if not isinstance(setting, dict):
            return None
        return cls(
            setting.get("maxFileSize", DEFAULT_MAX_FILE_SIZE), setting.get("maxTotal", DEFAULT_MAX_TOTAL)
        )

    def body_limit(self, server_limit: int) -> int:
        """The bound of a whole request whose files are stored under this quota."""
        return max(server_limit, self.max_total + FIELDS_MARGIN)


def files_problems(setting: Any) -> list[Problem]:
    """The problems with a `config.request.files` setting; empty when valid."""
    where = "config.request.files"
    if setting is None or setting is False:
        return []
    if not isinstance(setting, dict):
        return [
            Problem(where, 'must be false or an object like {"maxFileSize": 10485760, "maxTotal": 26214400}')
        ]
    problems = unknown_fields(setting, ("maxFileSize", "maxTotal"), where)
    for name in ("maxFileSize", "maxTotal"):
        value = setting.get(name)
        if name in setting and not (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_QUOTA
        ):
            problems.append(
                Problem(f"{where}.{name}", f"must be a whole number of bytes from 1 to {MAX_QUOTA}")
            )
    return problems


class FileSink(Protocol):
    """Where stored files go: the store's file operations (`hookline.store.base.Store`)."""

    async def add_file(self, file: StoredFile) -> None:
        """Insert a file's row, before its bytes."""
        ...

    async def add_file_chunk(self, file_id: int, position: int, data: bytes) -> None:
        """Store the chunk of a file's bytes at `position`."""
        ...

    async def finish_file(self, file_id: int, size: int, sha256: str) -> None:
        """Record a file's size and SHA-256."""
        ...

    async def attach_files(self, file_ids: Sequence[int], execution_id: int) -> None:
        """Make files belong to a recorded execution."""
        ...

    async def delete_files(self, file_ids: Sequence[int]) -> None:
        """Delete files with their bytes."""
        ...


@dataclass(slots=True)
class Upload:
    """One file of the body as it streams: its digest and size so far, and the bytes not yet stored."""

    filename: str
    content_type: str
    stored: bool
    """Whether its bytes are stored (`config.request.files` is on), under `id`."""
    id: int = field(default_factory=new_id)
    digest: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    pending: bytearray = field(default_factory=bytearray)
    position: int = 0
    """The position of its next chunk."""
    ended: bool = False
    created: bool = False
    """Whether its row is stored."""

    def description(self) -> JsonObject:
        """What `$context.body` holds at the file's field name."""
        return {
            "filename": self.filename,
            "contentType": self.content_type,
            "size": self.size,
            "sha256": self.digest.hexdigest(),
            "id": str(self.id) if self.stored else None,
        }


class Uploads:
    """The files of one request: hashed as they come, and stored under a quota when `sink` is given.

    `execution_id` is the id the request's execution will be recorded under: a stored file carries
    it, so that the janitor can attach it should this process die before `keep` does.
    """

    def __init__(
        self, sink: FileSink | None, quota: FileQuota | None, execution_id: int | None = None
    ) -> None:
        self._sink = sink if quota is not None else None
        self._execution_id = execution_id
        self._quota = quota
        self._total = 0
        self._streaming: list[Upload] = []
        self.stored: list[int] = []
        """The ids of the files stored so far (rows included), to keep or delete."""
        self._kept = False

    def start(self, filename: str, content_type: str) -> Upload:
        """A new file of the body."""
        upload = Upload(filename, content_type, stored=self._sink is not None)
        if self._sink is not None:
            self._streaming.append(upload)
        return upload

    def add(self, upload: Upload, data: bytes) -> None:
        """Bytes of a file: hashed, counted against the quota, and kept for `flush` when stored."""
        upload.digest.update(data)
        upload.size += len(data)
        if self._quota is None or self._sink is None:
            return
        self._total += len(data)
        if upload.size > self._quota.max_file_size:
            message = f"The file {upload.filename!r} is larger than {self._quota.max_file_size} bytes."
            raise RejectedRequest(413, "file_too_large", message)
        if self._total > self._quota.max_total:
            message = f"The request's files hold more than {self._quota.max_total} bytes."
            raise RejectedRequest(413, "files_too_large", message)
        upload.pending += data

    async def flush(self) -> None:
        """Store the whole chunks received so far, and the rest of every file that ended."""
        if self._sink is None:
            return
        for upload in self._streaming:
            await self._store(self._sink, upload)
        self._streaming = [upload for upload in self._streaming if not upload.ended]

    async def _store(self, sink: FileSink, upload: Upload) -> None:
        """Store what can be stored of one file: its row first, then its whole chunks, then its end."""
        if not upload.created:
            self.stored.append(upload.id)  # before the insert: a failed one is deleted too, harmlessly
            created_at = datetime.now(UTC)
            row = StoredFile(
                upload.id,
                upload.filename,
                upload.content_type,
                created_at,
                planned_execution_id=self._execution_id,
            )
            await sink.add_file(row)
            upload.created = True
        while len(upload.pending) >= CHUNK_SIZE or (upload.ended and upload.pending):
            data = bytes(upload.pending[:CHUNK_SIZE])
            del upload.pending[:CHUNK_SIZE]
            await sink.add_file_chunk(upload.id, upload.position, data)
            upload.position += 1
        if upload.ended:
            await sink.finish_file(upload.id, upload.size, upload.digest.hexdigest())

    async def keep(self, execution_id: int | None) -> None:
        """The request was recorded as `execution_id`: its files now belong to it (None: they go).

        The execution is committed already, so a database that fails here must not turn its answer
        into an error (the sender would send it again) nor delete its files: they carry the id of
        their execution, and the janitor attaches them later.
        """
        if self._sink is None or not self.stored or execution_id is None:
            return
        self._kept = True
        try:
            await self._sink.attach_files(self.stored, execution_id)
        except StorageUnavailable as error:
            log.warning(
                "%d files of execution %d are left for the janitor to attach: %s",
                len(self.stored),
                execution_id,
                error,
            )

    async def release(self) -> None:
        """Delete the stored files unless they were kept (the request was refused or not recorded)."""
        if self._sink is None or not self.stored or self._kept:
            return
        ids, self.stored = self.stored, []
        try:
            await self._sink.delete_files(ids)
        except StorageUnavailable as error:
            # The request's own answer (its 413, say) matters more; the janitor deletes them later.
            log.warning("%d files of a refused request are left for the janitor: %s", len(ids), error)
