"""`config.request.files`: its checks at save time, the quota it sets, and the request bound that follows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from hookline.errors import RejectedRequest, StorageUnavailable
from hookline.store.file_store import StoredFile
from hookline.trigger.config import check_trigger_config
from hookline.trigger.uploads import (
    CHUNK_SIZE,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_TOTAL,
    FIELDS_MARGIN,
    MAX_QUOTA,
    FileQuota,
    Uploads,
)


class MemorySink:
    """The store's file operations over dicts; `broken` makes every write fail as an outage would."""

    def __init__(self, *, broken: bool = False) -> None:
        self.files: dict[int, StoredFile] = {}
        self.chunks: dict[tuple[int, int], bytes] = {}
        self.owners: dict[int, int] = {}
        self.broken = broken

    def _write(self) -> None:
        if self.broken:
            raise StorageUnavailable("the database is away")

    async def add_file(self, file: StoredFile) -> None:
        """Keep a file's row."""
        self._write()
        self.files[file.id] = file

    async def add_file_chunk(self, file_id: int, position: int, data: bytes) -> None:
        """Keep a chunk."""
        self._write()
        self.chunks[file_id, position] = data

    async def finish_file(self, file_id: int, size: int, sha256: str) -> None:
        """Record a file's size and digest."""
        self._write()
        self.files[file_id] = replace(self.files[file_id], size=size, sha256=sha256)

    async def attach_files(self, file_ids: Sequence[int], execution_id: int) -> None:
        """Give files their execution."""
        self._write()
        self.owners.update(dict.fromkeys(file_ids, execution_id))

    async def delete_files(self, file_ids: Sequence[int]) -> None:
        """Forget files and their chunks."""
        self._write()
        for file_id in file_ids:
            del self.files[file_id]
        self.chunks = {place: data for place, data in self.chunks.items() if place[0] not in file_ids}


async def streamed(sink: MemorySink, content: bytes) -> Uploads:
    """One file streamed into the sink in 100 KiB pieces, flushed after each as the webhook does."""
    uploads = Uploads(sink, FileQuota())
    file = uploads.start("a.bin", "application/octet-stream")
    for start in range(0, len(content), 100 * 1024):
        uploads.add(file, content[start : start + 100 * 1024])
        await uploads.flush()
        assert len(file.pending) < CHUNK_SIZE  # never more than a chunk waits in memory
    file.ended = True
    await uploads.flush()
    return uploads


def problems(files: Any) -> list[tuple[str, str]]:
    """The problems of a trigger config whose `request.files` is this."""
    found = check_trigger_config({"request": {"files": files}}, sync=False)
    return [(problem.where, problem.message) for problem in found]


@pytest.mark.parametrize(
    "files", [False, None, {}, {"maxFileSize": 1}, {"maxFileSize": MAX_QUOTA, "maxTotal": MAX_QUOTA}]
)
def test_valid_files_settings_have_no_problems(files: Any) -> None:
    """Off, on with the defaults, and on with sizes up to the maximum are all valid."""
    assert problems(files) == []


@pytest.mark.parametrize(
    ("files", "path"),
    [
        (True, "config.request.files"),
        ("yes", "config.request.files"),
        ({"maxFileSize": 0}, "config.request.files.maxFileSize"),
        ({"maxTotal": MAX_QUOTA + 1}, "config.request.files.maxTotal"),
        ({"maxTotal": 1.5}, "config.request.files.maxTotal"),
        ({"maxTotal": True}, "config.request.files.maxTotal"),
        ({"maxFiles": 3}, "config.request.files.maxFiles"),
    ],
)
def test_invalid_files_settings_are_refused_where_they_are(files: Any, path: str) -> None:
    """Anything but false or an object of byte counts within the maximum is one problem at its place."""
    assert [found for found, _ in problems(files)] == [path]


def test_the_quota_comes_from_the_config_with_defaults() -> None:
    """No setting (or false) stores nothing; an empty object takes the default sizes."""
    assert FileQuota.of({}) is None
    assert FileQuota.of({"request": {"files": False}}) is None
    assert FileQuota.of({"request": {"files": {}}}) == FileQuota(DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_TOTAL)
    assert FileQuota.of({"request": {"files": {"maxTotal": 5}}}) == FileQuota(DEFAULT_MAX_FILE_SIZE, 5)


def test_stored_files_raise_the_request_bound_to_their_total() -> None:
    """A request with stored files may be as large as its files' total plus room for fields."""
    quota = FileQuota(max_file_size=100, max_total=50 * 1024 * 1024)
    assert quota.body_limit(10 * 1024 * 1024) == 50 * 1024 * 1024 + FIELDS_MARGIN
    assert FileQuota(max_total=10).body_limit(10 * 1024 * 1024) == 10 * 1024 * 1024


def test_without_storage_no_quota_applies_and_no_id_is_given() -> None:
    """Files that are only described are hashed whatever their size, and their id is null."""
    uploads = Uploads(None, None)
    file = uploads.start("a.bin", "application/octet-stream")
    uploads.add(file, b"x" * (DEFAULT_MAX_FILE_SIZE + 1))
    assert file.description()["id"] is None
    assert file.pending == b""


def test_a_quota_is_checked_as_the_bytes_arrive() -> None:
    """The byte that takes a file past `maxFileSize` is refused at once, before the file ends."""

    uploads = Uploads(MemorySink(), FileQuota(max_file_size=3, max_total=10))
    file = uploads.start("a.bin", "application/octet-stream")
    uploads.add(file, b"abc")
    with pytest.raises(RejectedRequest) as refused:
        uploads.add(file, b"d")
    assert (refused.value.status, refused.value.code) == (413, "file_too_large")


async def test_stored_bytes_go_out_in_whole_chunks_then_the_rest() -> None:
    """A file is stored as whole chunks while it streams and its short tail when it ends."""
    sink = MemorySink()
    content = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and 4 bytes
    uploads = await streamed(sink, content)
    (file_id,) = uploads.stored
    sizes = [len(sink.chunks[file_id, position]) for position in range(5)]
    assert sizes == [CHUNK_SIZE] * 4 + [4]
    assert sink.files[file_id].sha256 == hashlib.sha256(content).hexdigest()
    await uploads.keep(42)
    await uploads.release()
    assert sink.owners == {file_id: 42}
    assert file_id in sink.files


async def test_files_of_a_request_not_recorded_are_deleted() -> None:
    """Without an execution to keep them (refused, or a duplicate), release deletes the files."""
    sink = MemorySink()
    uploads = await streamed(sink, b"x" * 1000)
    await uploads.keep(None)
    await uploads.release()
    assert (sink.files, sink.chunks, sink.owners) == ({}, {}, {})


async def test_a_failed_attach_keeps_the_files_for_the_janitor(caplog: pytest.LogCaptureFixture) -> None:
    """A recorded request's files stay when attaching them fails: no error, no delete, a warning."""
    sink = MemorySink()
    uploads = Uploads(sink, FileQuota(), execution_id=7)
    file = uploads.start("a.bin", "application/octet-stream")
    uploads.add(file, b"abc")
    file.ended = True
    await uploads.flush()
    sink.broken = True
    await uploads.keep(7)
    sink.broken = False
    await uploads.release()
    assert list(sink.files) == [file.id]
    assert sink.files[file.id].planned_execution_id == 7
    assert "left for the janitor to attach" in caplog.text


async def test_a_failed_delete_leaves_the_files_to_the_janitor(caplog: pytest.LogCaptureFixture) -> None:
    """When the database is away the delete is logged, not raised: the request's own answer wins."""
    sink = MemorySink()
    uploads = await streamed(sink, b"x" * 10)
    sink.broken = True
    await uploads.release()
    assert "left for the janitor" in caplog.text
    assert len(sink.files) == 1
