from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.resource import FileStorage, ResourceUnitOfWork
from app.application.request_context import RequestContext
from app.application.use_cases.resource.audit_events import audit
from app.application.use_cases.resource.authorization import (
    RESOURCE,
    authorized_resource,
    still_there,
)
from app.domain.entities.user import User
from app.domain.events.resource import ResourceDeleted


class DeleteResource:
    """Deletes the resource, its files' rows and then (after the commit) their ciphertext.
    `ResourceDeleted` (which stands for its files too) is recorded with the deletion and handed
    out by `events` after the commit."""

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

    async def execute(self, actor: User, resource_id: UUID, context: RequestContext) -> None:
        await authorized_resource(self._uow, self._policy, actor, resource_id, "delete")
        async with self._uow as uow:
            resource = await still_there(uow, resource_id)
            files = await uow.resource_files.list_for_resource(resource_id)
            await uow.resources.delete(resource_id)
            now = self._clock.now()
            await uow.audit_events.add(
                audit("resource.delete", actor, RESOURCE, resource_id, context, now)
            )
            deleted = ResourceDeleted(
                occurred_at=now, resource_id=resource_id, owner_id=resource.owner_id
            )
            await uow.outbox.add([deleted], now)
            await uow.commit()
        await self._storage.delete_all([stored.storage_key for stored in files])
        if self._events is not None:
            await self._events.relay([deleted])
