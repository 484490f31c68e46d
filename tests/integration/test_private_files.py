"""What a server writes on disk is its owner's alone: a new data folder `0700`, the database `0600`."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookline.store.sql_store import open_store
from tests._workflows import chain


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """Run with umask 022, the usual one, under which new files are readable by everyone by default."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    """The permission bits of a file or folder."""
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_data_folder_and_database_are_private(make_server: Any, tmp_path: Path) -> None:
    """A first start creates the data folder 0700; the token, the database, WAL, SHM and writer lock 0600."""
    data = tmp_path / "new" / "data"
    async with make_server(data_dir=data, admin_token="", workers=0) as server:
        key = await server.load(chain("end"))
        assert (await server.post(key, json={"n": 1})).status_code == 200
        files = {path.name: mode(path) for path in data.iterdir()}
        assert mode(data) == mode(data.parent) == 0o700
        assert files == {
            "admin-token": 0o600,
            "hookline.db": 0o600,
            "hookline.db-wal": 0o600,
            "hookline.db-shm": 0o600,
            "hookline.db-writer.lock": 0o600,
        }


async def test_a_database_in_a_new_folder_of_its_own_is_private(make_server: Any, tmp_path: Path) -> None:
    """A database URL naming a folder that does not exist yet gets that folder 0700 and the file 0600."""
    database = tmp_path / "elsewhere" / "hookline.db"
    async with make_server(database_url=f"sqlite:///{database}"):
        assert (mode(database.parent), mode(database)) == (0o700, 0o600)


async def test_existing_folder_and_database_keep_their_modes_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder and a database the operator made keep their modes; a database others can read is warned of."""
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    database = data / "hookline.db"
    database.touch(mode=0o644)
    with caplog.at_level(logging.WARNING, logger="hookline.store.files"):
        store = await open_store(f"sqlite:///{database}")
        await store.close()
    assert (mode(data), mode(database)) == (0o750, 0o644)
    assert f"the database file {database} is readable by other users (mode 0644)" in caplog.text


async def test_a_private_existing_database_is_not_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database file readable by its owner only opens without a warning."""
    database = tmp_path / "hookline.db"
    database.touch(mode=0o600)
    with caplog.at_level(logging.WARNING, logger="hookline.store.files"):
        store = await open_store(f"sqlite:///{database}")
        await store.close()
    assert "readable by other users" not in caplog.text
