from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.resource import FileStorage, ResourceUnitOfWork
from app.application.use_cases.resource.authorization import authorized_for_files
from app.domain.entities.resource import FileNotFoundInResourceError, StoredFile
from app.domain.entities.user import User


@dataclass(frozen=True, slots=True)
class Download:
    file: StoredFile
    chunks: AsyncIterator[bytes]


class DownloadFile:
    """The file's metadata and its plaintext as a stream (decrypted and authenticated chunk by
    chunk as it is read)."""

    def __init__(self, uow: ResourceUnitOfWork, policy: AccessPolicy, storage: FileStorage) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage

    async def execute(self, actor: User, resource_id: UUID, file_id: UUID) -> Download:
        await authorized_for_files(self._uow, self._policy, actor, resource_id, "read")
        async with self._uow as uow:
            stored = await uow.resource_files.get(resource_id, file_id)
        if stored is None:
            raise FileNotFoundInResourceError()
        return Download(file=stored, chunks=self._storage.open(stored))
