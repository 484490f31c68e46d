"""The SQL of stored files: a row per file, its bytes as numbered chunks, both deleted with the execution.

A file arrives before its execution exists (the body is streamed before anything runs), so its
row starts without one, but with the id the execution will be recorded under (`planned_execution_id`):
`attach` gives it its execution once that is recorded, and from then on the foreign keys'
`ON DELETE CASCADE` delete it, and its chunks, with the execution (retention, a deleted workflow).
Files of a request that was refused are deleted at once (`delete`). A process that died in between
leaves them unattached: the janitor (`settle_unattached`) attaches those whose execution was recorded
and deletes the others. Every statement runs on a synchronous connection: the writer's, or a pooled
one for reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from hookline.store.file_store import StoredFile
from hookline.store.schema import executions, file_chunks, files


def insert(connection: Connection, file: StoredFile) -> None:
    """Insert a file's row (before its bytes)."""
    connection.execute(
        files.insert().values(
            id=file.id,
            execution_id=file.execution_id,
            planned_execution_id=file.planned_execution_id,
            filename=file.filename,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            created_at=file.created_at,
        )
    )


def insert_chunk(connection: Connection, file_id: int, position: int, data: bytes) -> None:
    """Insert one chunk of a file's bytes."""
    connection.execute(file_chunks.insert().values(file_id=file_id, position=position, data=data))


def finish(connection: Connection, file_id: int, size: int, sha256: str) -> None:
    """Record the size and digest of a file whose last chunk is in."""
    connection.execute(update(files).where(files.c.id == file_id).values(size=size, sha256=sha256))


def attach(connection: Connection, file_ids: Sequence[int], execution_id: int) -> None:
    """Make files belong to a recorded execution."""
    connection.execute(update(files).where(files.c.id.in_(file_ids)).values(execution_id=execution_id))


def delete_files(connection: Connection, file_ids: Sequence[int]) -> None:
    """Delete files; their chunks go with them (the foreign key cascades)."""
    connection.execute(delete(files).where(files.c.id.in_(file_ids)))


def find(connection: Connection, execution_id: int, file_id: int) -> StoredFile | None:
    """A finished file of an execution, or None."""
    row = (
        connection.execute(
            select(files).where(
                files.c.id == file_id, files.c.execution_id == execution_id, files.c.sha256.is_not(None)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredFile(
        id=row["id"],
        filename=row["filename"],
        content_type=row["content_type"],
        created_at=row["created_at"],
        size=row["size"],
        sha256=row["sha256"],
        execution_id=row["execution_id"],
    )


def chunk(connection: Connection, file_id: int, position: int) -> bytes | None:
    """The bytes of one chunk, or None past the last."""
    query = select(file_chunks.c.data).where(
        file_chunks.c.file_id == file_id, file_chunks.c.position == position
    )
    data = connection.execute(query).scalar()
    return None if data is None else bytes(data)


def settle_unattached(connection: Connection, before: datetime, limit: int, *, lock: bool) -> int:
    """Settle up to `limit` files created before `before` without an execution, oldest first; how many.

    Each is attached to its planned execution when that was recorded, and deleted when it was not.
    """
    chosen = (
        select(files.c.id, files.c.planned_execution_id)
        .where(files.c.execution_id.is_(None), files.c.created_at < before)
        .order_by(files.c.created_at)
        .limit(limit)
    )
    if lock:
        # A file being attached right now is skipped, not waited for (it is not an orphan anyway).
        chosen = chosen.with_for_update(skip_locked=True)
    planned: dict[int, int | None] = {row[0]: row[1] for row in connection.execute(chosen)}
    if not planned:
        return 0
    wanted = {execution for execution in planned.values() if execution is not None}
    recorded = set(connection.execute(select(executions.c.id).where(executions.c.id.in_(wanted))).scalars())
    for file_id, execution_id in planned.items():
        if execution_id is not None and execution_id in recorded:
            attach(connection, [file_id], execution_id)
    orphans = [file_id for file_id, execution_id in planned.items() if execution_id not in recorded]
    if orphans:
        delete_files(connection, orphans)
    return len(planned)
