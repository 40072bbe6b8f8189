"""Files on the local disk, encrypted at rest with envelope encryption (`FileStorage` port).

Each file gets a random AES-256-GCM data key, stored only wrapped by a master key (its key id is
kept, so master keys can rotate). The plaintext is cut into chunks of `chunk_size` bytes, each
sealed on its own so files stream both ways in constant memory:

    file    = MAGIC || record*          record = length (4 bytes, big-endian) || ciphertext
    nonce   = chunk index (12 bytes)    associated data = file id || chunk index || last-chunk flag

A data key encrypts one file only, so a counter nonce never repeats under a key. Binding the index
and the last-chunk flag into each chunk means reordered, dropped, truncated or appended chunks
fail to authenticate, as does any flipped byte: reading never yields a byte it cannot trust.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import struct
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.application.interfaces.resource import (
    FileTooLargeError,
    SealedBlob,
    StoredFileCorruptError,
)
from app.core.files import make_private_dir
from app.domain.entities.resource import StoredFile
from app.infrastructure.adapters.encryption import (
    KEY_BYTES,
    DecryptionError,
    MasterKeyRing,
    WrappedKey,
)

logger = logging.getLogger("strata.files")
MAGIC = b"STRATA-ENC1\n"
DEFAULT_CHUNK_SIZE = 64 * 1024
TAG_BYTES = 16
_LENGTH = struct.Struct(">I")


class LocalEncryptedFileStorage:
    def __init__(
        self, root: Path, key_ring: MasterKeyRing, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        self._root = root
        self._key_ring = key_ring
        self._chunk_size = chunk_size

    async def save(
        self, file_id: UUID, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> SealedBlob:
        storage_key = f"{file_id.hex[:2]}/{file_id.hex}"
        final_path = self._path(storage_key)
        temporary = final_path.with_name(f".{file_id.hex}.partial")
        await asyncio.to_thread(_make_private_dir, final_path.parent)
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        handle = await asyncio.to_thread(_open_private, temporary)
        try:
            await asyncio.to_thread(handle.write, MAGIC)
            size, digest = await self._write_sealed(
                handle, AESGCM(data_key), file_id, chunks, max_bytes=max_bytes
            )
            await asyncio.to_thread(_flush_and_close, handle)
            await asyncio.to_thread(os.replace, temporary, final_path)
        except BaseException:
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(temporary.unlink, missing_ok=True)
            raise
        wrapped = self._key_ring.wrap(data_key, context=file_id.bytes)
        return SealedBlob(
            size=size,
            sha256=digest,
            key_id=wrapped.key_id,
            wrapped_key=wrapped.wrapped,
            storage_key=storage_key,
        )

    async def open(self, stored_file: StoredFile) -> AsyncIterator[bytes]:
        cipher = self._cipher_of(stored_file)
        path = self._path(stored_file.storage_key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except OSError as exc:
            raise _corrupt(stored_file, "missing") from exc
        try:
            if await asyncio.to_thread(handle.read, len(MAGIC)) != MAGIC:
                raise _corrupt(stored_file, "header")
            index = 0
            record = await asyncio.to_thread(_read_record, handle)
            if record is None:
                raise _corrupt(stored_file, "empty")
            while record is not None:
                following = await asyncio.to_thread(_read_record, handle)
                last = following is None
                try:
                    yield cipher.decrypt(_nonce(index), record, _aad(stored_file.id, index, last))
                except InvalidTag as exc:
                    raise _corrupt(stored_file, f"chunk {index}") from exc
                record = following
                index += 1
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, storage_key: str) -> None:
        await asyncio.to_thread(self._path(storage_key).unlink, missing_ok=True)

    async def delete_all(self, storage_keys: Iterable[str]) -> None:
        for storage_key in storage_keys:
            try:
                await self.delete(storage_key)
            except OSError as exc:
                # Its row (and so its wrapped data key) is gone: what remains cannot be decrypted.
                logger.error(
                    "stored file not removed",
                    extra={"storage_key": storage_key, "error": type(exc).__name__},
                )

    async def _write_sealed(
        self,
        handle: BinaryIO,
        cipher: AESGCM,
        file_id: UUID,
        chunks: AsyncIterator[bytes],
        *,
        max_bytes: int,
    ) -> tuple[int, str]:
        """Write `chunks` as sealed records; their plaintext's size and SHA-256 (hex)."""
        digest = hashlib.sha256()
        size = 0
        index = 0
        pending = bytearray()
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLargeError(limit=max_bytes)
            digest.update(chunk)
            pending.extend(chunk)
            # Keep one full chunk back: only at the end is it known which chunk is the last.
            while len(pending) > self._chunk_size:
                piece = bytes(pending[: self._chunk_size])
                del pending[: self._chunk_size]
                await self._write_record(handle, cipher, file_id, index, piece, last=False)
                index += 1
        await self._write_record(handle, cipher, file_id, index, bytes(pending), last=True)
        return size, digest.hexdigest()

    def _cipher_of(self, stored_file: StoredFile) -> AESGCM:
        """The file's data key, unwrapped by the master key it was wrapped with."""
        try:
            data_key = self._key_ring.unwrap(
                WrappedKey(stored_file.key_id, stored_file.wrapped_key),
                context=stored_file.id.bytes,
            )
        except DecryptionError as exc:
            raise _corrupt(stored_file, "data key") from exc
        return AESGCM(data_key)

    async def _write_record(
        self,
        handle: BinaryIO,
        cipher: AESGCM,
        file_id: UUID,
        index: int,
        data: bytes,
        *,
        last: bool,
    ) -> None:
        sealed = cipher.encrypt(_nonce(index), data, _aad(file_id, index, last))
        await asyncio.to_thread(handle.write, _LENGTH.pack(len(sealed)) + sealed)

    def _path(self, storage_key: str) -> Path:
        # Storage keys are ours (hex of a UUID), never a client's string: no traversal possible.
        return self._root / storage_key


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(file_id: UUID, index: int, last: bool) -> bytes:
    return file_id.bytes + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _read_record(handle: BinaryIO) -> bytes | None:
    header = handle.read(_LENGTH.size)
    if not header:
        return None
    if len(header) != _LENGTH.size:
        return b""  # a torn length: decrypting it fails, as it must
    (length,) = _LENGTH.unpack(header)
    if length > DEFAULT_CHUNK_SIZE * 16 + TAG_BYTES:
        return b""
    return handle.read(length)


def _make_private_dir(path: Path) -> None:
    make_private_dir(path)  # every folder it makes, the storage root and those above it included


def _open_private(path: Path) -> BinaryIO:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(descriptor, "wb")


def _flush_and_close(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def _corrupt(stored_file: StoredFile, where: str) -> StoredFileCorruptError:
    logger.error(
        "stored file failed authentication",
        extra={"file_id": str(stored_file.id), "where": where},
    )
    return StoredFileCorruptError()
