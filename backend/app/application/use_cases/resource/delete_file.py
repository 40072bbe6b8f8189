from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.resource import FileStorage, ResourceUnitOfWork
from app.application.request_context import RequestContext
from app.application.use_cases.resource.audit_events import audit
from app.application.use_cases.resource.authorization import FILE, authorized_for_files
from app.domain.entities.resource import FileNotFoundInResourceError
from app.domain.entities.user import User
from app.domain.events.resource import FileDeleted


class DeleteFile:
    """Deletes the file's row and then, after the commit, its ciphertext. `FileDeleted` is
    recorded with the deletion and handed out by `events` after the commit."""

    def __init__(
        self,
        uow: ResourceUnitOfWork,
        policy: AccessPolicy,
        storage: FileStorage,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage
        self._clock = clock
        self._events = events

    async def execute(
        self, actor: User, resource_id: UUID, file_id: UUID, context: RequestContext
    ) -> None:
        await authorized_for_files(self._uow, self._policy, actor, resource_id, "delete")
        async with self._uow as uow:
            stored = await uow.resource_files.get(resource_id, file_id)
            if stored is None or not await uow.resource_files.delete(file_id):
                raise FileNotFoundInResourceError()
            now = self._clock.now()
            await uow.audit_events.add(audit("file.delete", actor, FILE, file_id, context, now))
            deleted = FileDeleted(
                occurred_at=now,
                file_id=file_id,
                resource_id=resource_id,
                owner_id=stored.owner_id,
            )
            await uow.outbox.add([deleted], now)
            await uow.commit()
        await self._storage.delete_all([stored.storage_key])
        if self._events is not None:
            await self._events.relay([deleted])
