"""The files role of the store: files of multipart webhook bodies, kept in chunks with their execution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of a multipart webhook body, kept in the database (its bytes in chunks beside it)."""

    id: int
    filename: str
    content_type: str
    created_at: datetime
    size: int = 0
    sha256: str | None = None
    """The hex SHA-256 of the bytes; None until the last byte is in."""
    execution_id: int | None = None
    """The execution it belongs to; None until that is recorded and the file attached to it."""
    planned_execution_id: int | None = None
    """The id its request's execution gets once recorded: the janitor attaches it then, if nobody did."""


class FileStore(Protocol):
    """Files of multipart bodies: written before their execution exists, attached to it, read back."""

    async def add_file(self, file: StoredFile) -> None:
        """Durably insert a file's row, before its bytes; it belongs to no execution yet."""
        ...

    async def add_file_chunk(self, file_id: int, position: int, data: bytes) -> None:
        """Durably store the chunk of a file's bytes at `position` (0, 1, 2, … in order)."""
        ...

    async def finish_file(self, file_id: int, size: int, sha256: str) -> None:
        """Record a file's size and SHA-256 once its last chunk is stored."""
        ...

    async def attach_files(self, file_ids: Sequence[int], execution_id: int) -> None:
        """Make files belong to a recorded execution: they are deleted with it from then on."""
        ...

    async def delete_files(self, file_ids: Sequence[int]) -> None:
        """Delete files with their bytes (those of a request that was refused or not recorded)."""
        ...

    async def get_file(self, execution_id: int, file_id: int) -> StoredFile | None:
        """A finished file of an execution, or None (unknown, unfinished, or another execution's)."""
        ...

    async def read_file_chunk(self, file_id: int, position: int) -> bytes | None:
        """The chunk of a file's bytes at `position`, or None past the last one."""
        ...

    async def settle_unattached_files(self, before: datetime, *, limit: int) -> int:
        """Settle up to `limit` files created before `before` that joined no execution; how many.

        A file whose planned execution was recorded is attached to it (its process died in between);
        the others are deleted (their request was never recorded).
        """
        ...
