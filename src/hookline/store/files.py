"""Private files on disk: the folders and the SQLite database that hookline creates are its owner's alone.

What hookline creates gets an explicit mode, whatever the process's umask: folders `0700`, the
database file `0600`. SQLite gives the `-wal` and `-shm` files it creates later the mode of their
database file, so creating that file first, empty and `0600`, makes them private too (the writers'
`-writer.lock` beside it is created `0600` by `store/_sqlite_writer.py`). A folder or
file that already existed keeps its mode (the operator may have chosen it); a database readable
by other users only gets a warning at start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> None:
    """Create a folder and its missing parents, each `0700`; folders that exist are left as they are."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # created meanwhile by someone else: theirs, not ours to change
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode goes through the umask


def private_file(path: Path) -> int:
    """Open a new, empty file `0600` for writing, its folder created private if missing; its descriptor.

    Raises FileExistsError when the file exists: it is not ours to change.
    """
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)  # os.open's mode goes through the umask
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def prepare_database_file(path: Path) -> None:
    """Create a new SQLite database file empty and `0600`; warn when an existing one is readable by others.

    An empty file is an empty database to SQLite, which then creates its `-wal` and `-shm`
    files with the same mode.
    """
    try:
        os.close(private_file(path))
    except FileExistsError:
        warn_if_shared(path)


def warn_if_shared(path: Path) -> None:
    """Log a warning when a file can be read by users other than its owner."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # SQLite reports what is wrong with it when it opens it
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "the database file %s is readable by other users (mode %04o); `chmod 600` it "
            "and its -wal and -shm files to keep the recorded requests private",
            path,
            mode,
        )
