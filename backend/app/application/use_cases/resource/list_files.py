from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.resource import ResourceUnitOfWork
from app.application.use_cases.resource.authorization import authorized_for_files
from app.domain.entities.resource import StoredFile
from app.domain.entities.user import User


class ListFiles:
    """The files of a resource the caller may read."""

    def __init__(self, uow: ResourceUnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(self, actor: User, resource_id: UUID) -> list[StoredFile]:
        await authorized_for_files(self._uow, self._policy, actor, resource_id, "read")
        async with self._uow as uow:
            return await uow.resource_files.list_for_resource(resource_id)
