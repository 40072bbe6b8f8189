from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.resource import FileStorage, ResourceUnitOfWork
from app.application.request_context import RequestContext
from app.application.use_cases.resource.audit_events import audit
from app.application.use_cases.resource.authorization import (
    RESOURCE,
    authorized_resource,
    still_there,
)
from app.domain.entities.user import User


class DeleteResource:
    """Deletes the resource, its files' rows and then (after the commit) their ciphertext."""

    def __init__(
        self, uow: ResourceUnitOfWork, policy: AccessPolicy, storage: FileStorage, clock: Clock
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage
        self._clock = clock

    async def execute(self, actor: User, resource_id: UUID, context: RequestContext) -> None:
        await authorized_resource(self._uow, self._policy, actor, resource_id, "delete")
        async with self._uow as uow:
            await still_there(uow, resource_id)
            files = await uow.resource_files.list_for_resource(resource_id)
            await uow.resources.delete(resource_id)
            now = self._clock.now()
            await uow.audit_events.add(
                audit("resource.delete", actor, RESOURCE, resource_id, context, now)
            )
            await uow.commit()
        await self._storage.delete_all([stored.storage_key for stored in files])
