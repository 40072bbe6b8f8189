"""Files of a resource: upload (sniffed, size-limited, encrypted), list, download, delete.
Whoever may not see the resource gets 404 for its files too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.resource import ContentTypeSniffer, FileStorage
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.request_context import RequestContext
from app.application.use_cases.resource.resources import audit, visible_resource
from app.domain.entities.resource import StoredFile, sanitize_filename
from app.domain.entities.user import User
from app.domain.errors import (
    FileNotFoundInResourceError,
    ResourceNotFoundError,
    UnsupportedFileTypeError,
)
from app.domain.value_objects.identifiers import new_id

FILE = "file"
SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class Download:
    file: StoredFile
    chunks: AsyncIterator[bytes]


async def _visible_file_resource(
    uow: UnitOfWork, policy: AccessPolicy, actor: User, resource_id: UUID, action: str
) -> None:
    resource = await visible_resource(uow, policy, actor, resource_id, "read")
    if not await policy.allows(actor, action, FILE, owner_id=resource.owner_id):
        raise ResourceNotFoundError()


class UploadFile:
    def __init__(
        self,
        uow: UnitOfWork,
        policy: AccessPolicy,
        storage: FileStorage,
        sniffer: ContentTypeSniffer,
        clock: Clock,
        *,
        max_bytes: int,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage
        self._sniffer = sniffer
        self._clock = clock
        self._max_bytes = max_bytes

    async def execute(
        self,
        actor: User,
        resource_id: UUID,
        filename: str | None,
        chunks: AsyncIterator[bytes],
        context: RequestContext,
    ) -> StoredFile:
        async with self._uow as uow:
            await _visible_file_resource(uow, self._policy, actor, resource_id, "create")
        head, rest = await _peek(chunks, SNIFF_BYTES)
        content_type = self._sniffer.sniff(head)
        if content_type is None:
            raise UnsupportedFileTypeError()
        file_id = new_id()
        blob = await self._storage.save(file_id, _chain(head, rest), max_bytes=self._max_bytes)
        now = self._clock.now()
        stored = StoredFile(
            id=file_id,
            resource_id=resource_id,
            owner_id=actor.id,
            filename=sanitize_filename(filename),
            content_type=content_type,
            size=blob.size,
            sha256=blob.sha256,
            key_id=blob.key_id,
            wrapped_key=blob.wrapped_key,
            storage_key=blob.storage_key,
            created_at=now,
        )
        try:
            async with self._uow as uow:
                # Checked again: the resource may have gone while the bytes streamed in.
                resource = await visible_resource(uow, self._policy, actor, resource_id, "read")
                stored = stored.model_copy(update={"owner_id": resource.owner_id})
                await uow.resource_files.add(stored)
                await uow.audit_events.add(audit("file.upload", actor, FILE, file_id, context, now))
                await uow.commit()
        except BaseException:
            await self._storage.delete(blob.storage_key)  # no row, so no ciphertext either
            raise
        return stored


class ListFiles:
    def __init__(self, uow: UnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(self, actor: User, resource_id: UUID) -> list[StoredFile]:
        async with self._uow as uow:
            await _visible_file_resource(uow, self._policy, actor, resource_id, "read")
            return await uow.resource_files.list_for_resource(resource_id)


class DownloadFile:
    def __init__(self, uow: UnitOfWork, policy: AccessPolicy, storage: FileStorage) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage

    async def execute(self, actor: User, resource_id: UUID, file_id: UUID) -> Download:
        async with self._uow as uow:
            await _visible_file_resource(uow, self._policy, actor, resource_id, "read")
            stored = await uow.resource_files.get(resource_id, file_id)
        if stored is None:
            raise FileNotFoundInResourceError()
        return Download(file=stored, chunks=self._storage.open(stored))


class DeleteFile:
    def __init__(
        self, uow: UnitOfWork, policy: AccessPolicy, storage: FileStorage, clock: Clock
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage
        self._clock = clock

    async def execute(
        self, actor: User, resource_id: UUID, file_id: UUID, context: RequestContext
    ) -> None:
        async with self._uow as uow:
            await _visible_file_resource(uow, self._policy, actor, resource_id, "delete")
            stored = await uow.resource_files.get(resource_id, file_id)
            if stored is None:
                raise FileNotFoundInResourceError()
            await uow.resource_files.delete(file_id)
            now = self._clock.now()
            await uow.audit_events.add(audit("file.delete", actor, FILE, file_id, context, now))
            await uow.commit()
        await self._storage.delete(stored.storage_key)


async def _peek(chunks: AsyncIterator[bytes], size: int) -> tuple[bytes, AsyncIterator[bytes]]:
    head = bytearray()
    iterator = aiter(chunks)
    while len(head) < size:
        try:
            head.extend(await anext(iterator))
        except StopAsyncIteration:
            break
    return bytes(head), iterator


async def _chain(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk
