"""Files of multipart bodies on SQLite and PostgreSQL: stored, read in chunks, gone with their execution."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from hookline.models import ExecutionStatus, Flow
from hookline.queue.janitor import UNATTACHED_FILES_KEPT, Janitor
from hookline.store.file_store import StoredFile
from hookline.store.sql_store import SqlStore
from hookline.trigger.uploads import CHUNK_SIZE, FileQuota, Uploads
from tests._factories import NOW, make_flow, stored, with_retention

CONTENT = bytes(range(256)) * (CHUNK_SIZE // 256 * 2 + 3)
"""Two whole chunks and a bit: the last chunk is short."""


async def upload(
    store: SqlStore, content: bytes = CONTENT, *, piece: int = 10_000, execution_id: int | None = None
) -> int:
    """Store one file as a request streams it (in `piece`-byte pieces); returns its id.

    `execution_id` is the id the request's execution is planned to get.
    """
    quota = FileQuota(max_file_size=len(content) + 1, max_total=len(content) + 1)
    uploads = Uploads(store, quota, execution_id)
    file = uploads.start("data.bin", "application/octet-stream")
    for start in range(0, len(content), piece):
        uploads.add(file, content[start : start + piece])
        await uploads.flush()
    file.ended = True
    await uploads.flush()
    return file.id


async def read_back(store: SqlStore, file_id: int) -> bytes:
    """A stored file's bytes, chunk by chunk."""
    chunks, position = [], 0
    while (chunk := await store.read_file_chunk(file_id, position)) is not None:
        chunks.append(chunk)
        position += 1
    return b"".join(chunks)


async def execution_of(store: SqlStore, flow: Flow, days_ago: float = 0) -> int:
    """A finished execution of the flow; returns its id."""
    return await stored(store, flow, ExecutionStatus.RESOLVED, days_ago)


async def test_a_streamed_file_reads_back_whole_with_its_digest(store: SqlStore) -> None:
    """A file stored piece by piece comes back byte for byte, in chunks of at most CHUNK_SIZE."""
    flow = make_flow()
    await store.add_flow(flow)
    file_id = await upload(store)
    execution_id = await execution_of(store, flow)
    await store.attach_files([file_id], execution_id)
    found = await store.get_file(execution_id, file_id)
    assert found is not None
    assert (found.filename, found.content_type, found.size) == (
        "data.bin",
        "application/octet-stream",
        len(CONTENT),
    )
    assert found.sha256 == hashlib.sha256(CONTENT).hexdigest()
    assert await read_back(store, file_id) == CONTENT
    assert len(await store.read_file_chunk(file_id, 0) or b"") == CHUNK_SIZE


async def test_an_empty_file_has_no_chunks(store: SqlStore) -> None:
    """A file of no bytes is stored as its row alone, with the digest of nothing."""
    flow = make_flow()
    await store.add_flow(flow)
    file_id = await upload(store, b"")
    execution_id = await execution_of(store, flow)
    await store.attach_files([file_id], execution_id)
    found = await store.get_file(execution_id, file_id)
    assert found is not None
    assert (found.size, found.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert await store.read_file_chunk(file_id, 0) is None


async def test_a_file_is_found_only_through_its_own_execution(store: SqlStore) -> None:
    """Another execution's id, or a file not attached or not finished, finds nothing."""
    flow = make_flow()
    await store.add_flow(flow)
    mine, other = await execution_of(store, flow), await execution_of(store, flow)
    file_id = await upload(store)
    assert await store.get_file(mine, file_id) is None  # not attached yet
    await store.attach_files([file_id], mine)
    assert await store.get_file(other, file_id) is None
    unfinished = StoredFile(file_id + 1, "half.bin", "text/plain", NOW, execution_id=mine)
    await store.add_file(unfinished)
    assert await store.get_file(mine, unfinished.id) is None


async def test_retention_deletes_files_with_their_execution(store: SqlStore) -> None:
    """When the janitor deletes an execution past its retention, its files and their bytes go too."""
    flow = with_retention(make_flow(), {"maxAgeDays": 1})
    await store.add_flow(flow)
    old, recent = await execution_of(store, flow, days_ago=3), await execution_of(store, flow)
    old_file, recent_file = await upload(store), await upload(store)
    await store.attach_files([old_file], old)
    await store.attach_files([recent_file], recent)
    assert await Janitor(store).sweep(NOW) == 1
    assert await store.get_file(old, old_file) is None
    assert await store.read_file_chunk(old_file, 0) is None
    assert await read_back(store, recent_file) == CONTENT


async def test_deleting_a_workflow_deletes_its_files(store: SqlStore) -> None:
    """Deleting a workflow deletes its executions' files and their bytes."""
    flow = make_flow()
    await store.add_flow(flow)
    execution_id = await execution_of(store, flow)
    file_id = await upload(store)
    await store.attach_files([file_id], execution_id)
    await store.delete_workflow(flow.workflow.key)
    assert await store.read_file_chunk(file_id, 0) is None


async def test_the_janitor_deletes_only_old_unattached_files(store: SqlStore) -> None:
    """Files no execution took (their request died) go once old enough; attached ones stay."""
    flow = make_flow()
    await store.add_flow(flow)
    execution_id = await execution_of(store, flow)
    orphans = [await upload(store), await upload(store)]
    kept = await upload(store)
    await store.attach_files([kept], execution_id)
    found = await store.get_file(execution_id, kept)
    assert found is not None
    assert await Janitor(store).settle_unattached_files(found.created_at) == 0  # too young yet
    later = found.created_at + UNATTACHED_FILES_KEPT + timedelta(seconds=1)
    assert await Janitor(store, batch=1).settle_unattached_files(later) == 2
    assert [await store.read_file_chunk(orphan, 0) for orphan in orphans] == [None, None]
    assert await read_back(store, kept) == CONTENT


async def test_the_janitor_attaches_files_whose_execution_was_recorded(store: SqlStore) -> None:
    """A process that died after recording the execution but before attaching its files loses none:
    the janitor attaches them to the execution they were planned for, and deletes a never-recorded
    request's files."""
    flow = make_flow()
    await store.add_flow(flow)
    execution_id = await execution_of(store, flow)
    recorded = await upload(store, execution_id=execution_id)
    never = await upload(store, execution_id=execution_id + 1)
    assert await store.get_file(execution_id, recorded) is None  # not attached: the process died
    later = datetime.now(UTC) + UNATTACHED_FILES_KEPT + timedelta(minutes=1)
    assert await Janitor(store).settle_unattached_files(later) == 2
    assert await read_back(store, recorded) == CONTENT
    assert await store.get_file(execution_id, recorded) is not None
    assert await store.read_file_chunk(never, 0) is None


async def test_delete_files_drops_rows_and_bytes(store: SqlStore) -> None:
    """Deleting a refused request's files leaves none of their chunks."""
    file_id = await upload(store)
    await store.delete_files([file_id])
    assert await store.read_file_chunk(file_id, 0) is None
    assert await Janitor(store).settle_unattached_files(NOW + timedelta(days=400)) == 0
