"""Ports of resources and their files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.application.errors import (
    PayloadTooLargeError,
    StoredDataCorruptError,
    UnsupportedMediaTypeError,
)
from app.application.interfaces.access import PolicyRule
from app.application.interfaces.audit import AuditUnitOfWork
from app.application.interfaces.events import OutboxUnitOfWork
from app.domain.entities.resource import Resource, StoredFile

RESOURCE_OBJECT_TYPES = ("resource", "file")
# Users create, read, change and delete their own resources and files.
RESOURCE_POLICY_RULES = tuple(
    PolicyRule("user", object_type, action, "own")
    for object_type in RESOURCE_OBJECT_TYPES
    for action in ("create", "read", "update", "delete")
)


class ResourceRepository(Protocol):
    async def add(self, resource: Resource) -> None: ...

    async def get(self, resource_id: UUID) -> Resource | None: ...

    async def replace(self, resource: Resource, *, expected_version: int) -> bool:
        """Store `resource` over the row still at `expected_version`; False if it changed."""
        ...

    async def delete(self, resource_id: UUID) -> bool:
        """Delete the resource and its files' rows."""
        ...

    async def list_page(
        self, *, owner_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Resource]:
        """By id; only `owner_id`'s when it is given."""
        ...

    async def list_by_owner(self, owner_id: UUID) -> list[Resource]: ...

    async def delete_by_owner(self, owner_id: UUID) -> int: ...


class ResourceFileRepository(Protocol):
    async def add(self, stored_file: StoredFile) -> None: ...

    async def get(self, resource_id: UUID, file_id: UUID) -> StoredFile | None: ...

    async def list_for_resource(self, resource_id: UUID) -> list[StoredFile]: ...

    async def list_by_owner(self, owner_id: UUID) -> list[StoredFile]: ...

    async def delete(self, file_id: UUID) -> bool: ...


@dataclass(frozen=True, slots=True)
class SealedBlob:
    """What the storage reports about bytes it has just stored encrypted."""

    size: int
    sha256: str  # of the plaintext
    key_id: str
    wrapped_key: bytes
    storage_key: str


class FileStorage(Protocol):
    """Stores file contents encrypted at rest, each under its own data key.

    `save` streams: it never holds the whole content in memory, and raises FileTooLargeError as
    soon as more than `max_bytes` arrive (keeping nothing). `open` streams the plaintext back and
    raises StoredFileCorruptError rather than yield a byte it cannot authenticate.
    """

    async def save(
        self, file_id: UUID, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> SealedBlob: ...

    def open(self, stored_file: StoredFile) -> AsyncIterator[bytes]: ...

    async def delete(self, storage_key: str) -> None:
        """Remove the ciphertext; nothing happens if it is already gone."""
        ...

    async def delete_all(self, storage_keys: Iterable[str]) -> None:
        """Remove the ciphertext of each file, after the commit that deleted their rows.

        Never raises: a file that cannot be removed is logged and left behind, unreadable, since
        its data key went with its row (so the committed deletion still stands)."""
        ...


class ContentTypeSniffer(Protocol):
    def sniff(self, head: bytes) -> str | None:
        """The media type the first bytes of a file show, if it is one we accept; else None."""
        ...


class ResourceUnitOfWork(AuditUnitOfWork, OutboxUnitOfWork, Protocol):
    """What the resource feature's use cases (resources and their files) touch."""

    @property
    def resources(self) -> ResourceRepository: ...

    @property
    def resource_files(self) -> ResourceFileRepository: ...


# Errors of file uploads and of stored files
class FileTooLargeError(PayloadTooLargeError):
    code = "file.too_large"


class UnsupportedFileTypeError(UnsupportedMediaTypeError):
    code = "file.unsupported_type"


class StoredFileCorruptError(StoredDataCorruptError):
    """The stored ciphertext does not authenticate: altered on disk, or its key is gone."""

    code = "file.corrupt"
