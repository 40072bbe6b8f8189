"""What Strata keeps on disk is readable by its owner only: the SQLite database (with its WAL,
shared-memory and journal files), generated secrets, stored files and development mail.

Every test runs under the usual umask 022, which by itself would make files 644 and folders 755.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.application.interfaces.credentials import MailMessage
from app.core.files import make_private_dir, restrict_to_owner, write_private_file
from app.infrastructure.adapters.encryption import MasterKeyRing
from app.infrastructure.adapters.file_storage import LocalEncryptedFileStorage
from app.infrastructure.adapters.mail import FileMailSender
from app.infrastructure.database import migrations
from app.infrastructure.database.engine import Database
from app.infrastructure.database.sqlite_file import prepare_sqlite_file, sqlite_file

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes_of_existing(paths: Iterable[Path]) -> list[int]:
    return [mode(path) for path in paths if path.exists()]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


# ------------------------------------------------------------------ SQLite


async def write_something(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        await connection.execute(text("INSERT INTO t VALUES (1)"))


async def test_a_new_sqlite_database_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "strata.db"
    database = Database(sqlite_url(path))
    try:
        await write_something(database)
        async with database.read_engine.connect() as reader:  # keeps the WAL and -shm open
            await reader.execute(text("SELECT x FROM t"))
            assert mode(path) == 0o600
            for companion in ("-wal", "-shm"):
                assert mode(Path(f"{path}{companion}")) == 0o600
    finally:
        await database.dispose()
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700  # every folder it had to make


async def test_a_rollback_journal_is_owner_only_too(tmp_path: Path) -> None:
    path = tmp_path / "strata.db"
    Database(sqlite_url(path))  # creates the file, private
    # Outside WAL mode SQLite writes a -journal beside the database while a transaction runs.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("PRAGMA journal_mode=PERSIST")  # the journal stays, to be looked at
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.execute("INSERT INTO t VALUES (1)")
    finally:
        connection.close()
    assert mode(Path(f"{path}-journal")) == 0o600


async def test_an_existing_world_readable_database_is_tightened_at_start(tmp_path: Path) -> None:
    path = tmp_path / "strata.db"
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        name.write_bytes(b"")
        name.chmod(0o644)

    database = Database(sqlite_url(path))
    await database.dispose()

    for name in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        assert mode(name) == 0o600, name


async def test_strata_migrate_creates_the_database_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "strata.db"

    await asyncio.to_thread(migrations.upgrade, sqlite_url(path))

    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert set(modes_of_existing(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)) <= {
        0o600
    }


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite:///file:strata?mode=memory&uri=true",
        "sqlite+aiosqlite:///file:strata.db?uri=true",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/strata",
    ],
)
def test_a_database_without_a_plain_file_is_left_alone(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert sqlite_file(url) is None
    prepare_sqlite_file(url)

    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ folders and files


def test_make_private_dir_makes_every_missing_folder_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c"

    make_private_dir(target)

    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3
    make_private_dir(target)  # and again: nothing to do, no error
    assert mode(target) == 0o700


def test_make_private_dir_leaves_existing_parents_as_they_are(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)

    make_private_dir(tmp_path / "mine")

    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / "mine") == 0o700


def test_restrict_to_owner_takes_group_and_other_bits_off(tmp_path: Path) -> None:
    folder, file = tmp_path / "folder", tmp_path / "file"
    folder.mkdir(mode=0o775)
    folder.chmod(0o775)
    file.write_text("x")
    file.chmod(0o664)

    assert restrict_to_owner(folder)
    assert restrict_to_owner(file)
    assert (mode(folder), mode(file)) == (0o700, 0o600)


def test_restrict_to_owner_leaves_a_shared_sticky_folder_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: MAIL_DIR=/tmp must not lock everyone else out of it

    assert not restrict_to_owner(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_a_private_file_is_written_into_an_owner_only_folder(tmp_path: Path) -> None:
    path = tmp_path / "var" / "nested" / "secret_key"

    write_private_file(path, "s3cret")

    assert (mode(path), mode(path.parent), mode(path.parent.parent)) == (0o600, 0o700, 0o700)


async def test_development_mail_goes_into_owner_only_folders(tmp_path: Path) -> None:
    mail_dir = tmp_path / "var" / "mail"
    sender = FileMailSender(mail_dir, "Strata <no-reply@localhost>")

    await sender.send(
        MailMessage(to="a@example.com", subject="Reset", text="https://x/reset?token=abc")
    )

    (written,) = mail_dir.iterdir()
    assert (mode(written), mode(mail_dir), mode(mail_dir.parent)) == (0o600, 0o700, 0o700)


async def test_stored_files_go_into_owner_only_folders(tmp_path: Path) -> None:
    root = tmp_path / "var" / "files"
    storage = LocalEncryptedFileStorage(root, MasterKeyRing.from_setting(f"a:{KEY}"))

    sealed = await storage.save(uuid.uuid4(), chunks(b"secret bytes"), max_bytes=1_000)

    folders = [root.parent, root, *[p for p in root.rglob("*") if p.is_dir()]]
    assert {mode(p) for p in folders} == {0o700}
    assert {mode(p) for p in root.rglob("*") if p.is_file()} == {0o600}
    assert sealed.size == len(b"secret bytes")


KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data
