from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.resource import (
    ContentTypeSniffer,
    FileStorage,
    ResourceUnitOfWork,
    SealedBlob,
    UnsupportedFileTypeError,
)
from app.application.request_context import RequestContext
from app.application.use_cases.resource.audit_events import audit
from app.application.use_cases.resource.authorization import FILE, authorized_for_files, still_there
from app.domain.entities.resource import TEXT_PLAIN, Resource, StoredFile, sanitize_filename
from app.domain.entities.user import User
from app.domain.events.resource import FileUploaded
from app.domain.value_objects.identifiers import new_id

SNIFF_BYTES = 8192  # enough for every signature the sniffer knows


class UploadFile:
    """Checks access before a byte is read, sniffs the type from the first bytes, streams the rest
    into encrypted storage (which stops at `max_bytes`), then records the file and, with it,
    `FileUploaded`, handed out by `events` after the commit."""

    def __init__(
        self,
        uow: ResourceUnitOfWork,
        policy: AccessPolicy,
        storage: FileStorage,
        sniffer: ContentTypeSniffer,
        clock: Clock,
        *,
        max_bytes: int,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage
        self._sniffer = sniffer
        self._clock = clock
        self._max_bytes = max_bytes
        self._events = events

    async def execute(
        self,
        actor: User,
        resource_id: UUID,
        filename: str | None,
        chunks: AsyncIterator[bytes],
        context: RequestContext,
    ) -> StoredFile:
        resource = await authorized_for_files(self._uow, self._policy, actor, resource_id, "create")
        content_type, content = await self._typed_content(chunks)
        file_id = new_id()
        blob = await self._storage.save(file_id, content, max_bytes=self._max_bytes)
        now = self._clock.now()
        stored = _stored_file(file_id, resource, filename, content_type, blob, now)
        uploaded = FileUploaded(
            occurred_at=now,
            file_id=file_id,
            resource_id=resource.id,
            owner_id=stored.owner_id,
            content_type=stored.content_type,
            size=stored.size,
        )
        try:
            async with self._uow as uow:
                await still_there(uow, resource_id)  # it may have gone while the bytes came in
                await uow.resource_files.add(stored)
                await uow.audit_events.add(audit("file.upload", actor, FILE, file_id, context, now))
                await uow.outbox.add([uploaded], now)
                await uow.commit()
        except BaseException:
            await self._storage.delete_all([blob.storage_key])  # no row, so no ciphertext
            raise
        if self._events is not None:
            await self._events.relay([uploaded])
        return stored

    async def _typed_content(
        self, chunks: AsyncIterator[bytes]
    ) -> tuple[str, AsyncIterator[bytes]]:
        """The type the first bytes show, and the whole content (plain text checked all through)."""
        head, rest = await _peek(chunks, SNIFF_BYTES)
        content_type = self._sniffer.sniff(head)
        if content_type is None:
            raise UnsupportedFileTypeError()
        content = _chain(head, rest)
        if content_type == TEXT_PLAIN:
            content = _utf8_without_nul(content)
        return content_type, content


def _stored_file(
    file_id: UUID,
    resource: Resource,
    filename: str | None,
    content_type: str,
    blob: SealedBlob,
    now: datetime,
) -> StoredFile:
    return StoredFile(
        id=file_id,
        resource_id=resource.id,
        owner_id=resource.owner_id,  # an admin's upload still belongs to the owner
        filename=sanitize_filename(filename),
        content_type=content_type,
        size=blob.size,
        sha256=blob.sha256,
        key_id=blob.key_id,
        wrapped_key=blob.wrapped_key,
        storage_key=blob.storage_key,
        created_at=now,
    )


async def _peek(chunks: AsyncIterator[bytes], size: int) -> tuple[bytes, AsyncIterator[bytes]]:
    """At least `size` bytes from the start (fewer if the content is shorter), and the rest."""
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


async def _utf8_without_nul(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Plain text is UTF-8 without NUL bytes all through, not only in the part that was sniffed;
    anything else stops the upload, as a type we do not take, before it is stored."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        async for chunk in chunks:
            if b"\x00" in chunk:
                raise UnsupportedFileTypeError()
            decoder.decode(chunk)
            yield chunk
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UnsupportedFileTypeError() from exc
