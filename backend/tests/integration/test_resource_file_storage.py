"""The encrypted file storage on a real directory: round trips, tampering of every kind, rotation."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest

from app.application.interfaces.resource import (
    FileTooLargeError,
    SealedBlob,
    StoredFileCorruptError,
)
from app.domain.entities.resource import StoredFile
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.encryption import MasterKeyRing
from app.infrastructure.adapters.file_storage import (
    DEFAULT_CHUNK_SIZE,
    MAGIC,
    LocalEncryptedFileStorage,
)
from tests.builders import make_stored_file

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
CHUNK = 1024
MARKER = b"MARKER-THAT-MUST-NOT-BE-STORED-IN-CLEAR"


async def stream(data: bytes, piece: int = 700) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


def storage(root: Path, keys: str = f"a:{KEY_A}") -> LocalEncryptedFileStorage:
    return LocalEncryptedFileStorage(root, MasterKeyRing.from_setting(keys), chunk_size=CHUNK)


def metadata(file_id: UUID, blob: SealedBlob) -> StoredFile:
    return make_stored_file(
        id=file_id,
        filename="f.txt",
        size=blob.size,
        sha256=blob.sha256,
        key_id=blob.key_id,
        wrapped_key=blob.wrapped_key,
        storage_key=blob.storage_key,
    )


async def collect_into(
    received: bytearray, store: LocalEncryptedFileStorage, stored: StoredFile
) -> None:
    async for chunk in store.open(stored):
        received.extend(chunk)


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def read_all(store: LocalEncryptedFileStorage, stored: StoredFile) -> bytes:
    return b"".join([chunk async for chunk in store.open(stored)])


async def saved(root: Path, data: bytes, keys: str = f"a:{KEY_A}") -> tuple[StoredFile, Path]:
    store = storage(root, keys)
    file_id = new_id()
    blob = await store.save(file_id, stream(data), max_bytes=10**7)
    return metadata(file_id, blob), root / blob.storage_key


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17])
async def test_round_trip_at_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    stored, path = await saved(tmp_path, data)

    assert await read_all(storage(tmp_path), stored) == data
    assert stored.size == size
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_the_stored_bytes_are_not_the_plaintext(tmp_path: Path) -> None:
    _, path = await saved(tmp_path, MARKER * 100)

    raw = path.read_bytes()
    assert raw.startswith(MAGIC)
    assert MARKER not in raw


def _records(raw: bytes) -> list[bytes]:
    records, offset = [], len(MAGIC)
    while offset < len(raw):
        length = int.from_bytes(raw[offset : offset + 4], "big")
        records.append(raw[offset : offset + 4 + length])
        offset += 4 + length
    return records


@pytest.mark.parametrize("tamper", ["flip", "truncate", "drop_last", "swap", "append", "header"])
async def test_any_tampering_fails_instead_of_returning_altered_data(
    tmp_path: Path, tamper: str
) -> None:
    stored, path = await saved(tmp_path, MARKER * 200)  # several chunks
    raw = path.read_bytes()
    records = _records(raw)
    assert len(records) > 3
    altered = {
        "flip": raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:],
        "truncate": raw[:-7],
        "drop_last": MAGIC + b"".join(records[:-1]),
        "swap": MAGIC + records[1] + records[0] + b"".join(records[2:]),
        "append": raw + records[1],
        "header": b"X" + raw[1:],
    }[tamper]
    path.write_bytes(altered)

    received = bytearray()
    with pytest.raises(StoredFileCorruptError):
        await collect_into(received, storage(tmp_path), stored)
    assert (MARKER * 200).startswith(bytes(received))  # only authenticated bytes came out


async def test_a_file_from_another_id_or_a_wrong_wrapped_key_fails(tmp_path: Path) -> None:
    stored, _ = await saved(tmp_path, b"secret data")
    with pytest.raises(StoredFileCorruptError):
        await read_all(storage(tmp_path), stored.model_copy(update={"id": new_id()}))
    with pytest.raises(StoredFileCorruptError):
        await read_all(storage(tmp_path), stored.model_copy(update={"wrapped_key": b"x" * 60}))
    with pytest.raises(StoredFileCorruptError):
        await read_all(storage(tmp_path), stored.model_copy(update={"storage_key": "ab/missing"}))


async def test_files_stay_readable_after_a_master_key_rotation(tmp_path: Path) -> None:
    old, _ = await saved(tmp_path, b"written under key a")
    rotated = f"b:{KEY_B},a:{KEY_A}"
    new, _ = await saved(tmp_path, b"written under key b", keys=rotated)

    assert old.key_id == "a"
    assert new.key_id == "b"
    assert await read_all(storage(tmp_path, rotated), old) == b"written under key a"
    assert await read_all(storage(tmp_path, rotated), new) == b"written under key b"
    with pytest.raises(StoredFileCorruptError):
        await read_all(storage(tmp_path, f"a:{KEY_A}"), new)  # key b retired too early


async def test_an_oversized_upload_stops_at_the_limit_and_leaves_nothing(tmp_path: Path) -> None:
    store = storage(tmp_path)
    received = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal received
        while True:
            received += 1000
            yield b"x" * 1000

    with pytest.raises(FileTooLargeError):
        await store.save(new_id(), endless(), max_bytes=5000)

    assert received <= 6000  # stopped reading as soon as the limit was passed
    assert files_under(tmp_path) == []


async def test_delete_removes_the_ciphertext_and_tolerates_a_missing_file(tmp_path: Path) -> None:
    stored, path = await saved(tmp_path, b"bye")
    store = storage(tmp_path)

    await store.delete(stored.storage_key)
    await store.delete(stored.storage_key)

    assert not path.exists()


async def test_a_large_file_streams_through_default_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)  # 49 chunks of 64 KiB
    store = LocalEncryptedFileStorage(tmp_path, MasterKeyRing.from_setting(f"a:{KEY_A}"))
    file_id = new_id()

    blob = await store.save(file_id, stream(data, piece=10_000), max_bytes=len(data))
    stored = metadata(file_id, blob)
    pieces = [chunk async for chunk in store.open(stored)]

    assert b"".join(pieces) == data
    assert max(len(piece) for piece in pieces) == DEFAULT_CHUNK_SIZE
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert stat.S_IMODE((tmp_path / blob.storage_key).parent.stat().st_mode) == 0o700


async def test_delete_all_removes_each_and_logs_what_it_cannot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, first_path = await saved(tmp_path, b"one")
    second, second_path = await saved(tmp_path, b"two")
    (tmp_path / "ab" / "a-directory").mkdir(parents=True)  # unlink() fails on it

    await storage(tmp_path).delete_all(
        [first.storage_key, "ab/a-directory", "cd/already-gone", second.storage_key]
    )

    assert not first_path.exists()
    assert not second_path.exists()
    assert [record.message for record in caplog.records] == ["stored file not removed"]
