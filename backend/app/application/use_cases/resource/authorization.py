"""Who may act on a resource and on its files. Owners act on their own; admins on all; to
anybody else a resource does not exist (not found), so its existence is never revealed; whoever
may not see the resource finds none of its files either.

The access policy is always asked while no transaction of ours is open: an adapter may read the
database itself (Casbin checks its policy version), and on SQLite a write transaction we held
would make that read wait on our own lock. A resource's owner never changes, so a decision taken
on the row just read still holds inside the write transaction that follows.
"""

from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.resource import ResourceUnitOfWork
from app.domain.entities.resource import Resource, ResourceNotFoundError
from app.domain.entities.user import User

RESOURCE = "resource"


async def authorized_resource(
    uow: ResourceUnitOfWork, policy: AccessPolicy, actor: User, resource_id: UUID, action: str
) -> Resource:
    """The resource, if `actor` may do `action` on it; the same not-found whether absent or not
    theirs. Read in a unit of work of its own, decided after it has ended."""
    async with uow:
        resource = await uow.resources.get(resource_id)
    if resource is None or not await policy.allows(
        actor, action, RESOURCE, owner_id=resource.owner_id
    ):
        raise ResourceNotFoundError()
    return resource


async def still_there(uow: ResourceUnitOfWork, resource_id: UUID) -> Resource:
    """The resource inside the write transaction; it may have been deleted since it was checked."""
    resource = await uow.resources.get(resource_id)
    if resource is None:
        raise ResourceNotFoundError()
    return resource


FILE = "file"


async def authorized_for_files(
    uow: ResourceUnitOfWork, policy: AccessPolicy, actor: User, resource_id: UUID, action: str
) -> Resource:
    """The resource, if `actor` may see it and do `action` on its files; else not found."""
    resource = await authorized_resource(uow, policy, actor, resource_id, "read")
    if not await policy.allows(actor, action, FILE, owner_id=resource.owner_id):
        raise ResourceNotFoundError()
    return resource
