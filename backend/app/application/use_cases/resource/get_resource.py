from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.resource import ResourceUnitOfWork
from app.application.use_cases.resource.authorization import authorized_resource
from app.domain.entities.resource import Resource
from app.domain.entities.user import User


class GetResource:
    """One resource, if the caller may read it (else not found)."""

    def __init__(self, uow: ResourceUnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(self, actor: User, resource_id: UUID) -> Resource:
        return await authorized_resource(self._uow, self._policy, actor, resource_id, "read")
