"""A user's resources: create, read, list, change, delete. Owners act on their own; admins on all;
to anybody else a resource does not exist (404), so its existence is never revealed.

The access policy is always asked while no transaction of ours is open: an adapter may read the
database itself (Casbin checks its policy version), and on SQLite a write transaction we held
would make that read wait on our own lock. A resource's owner never changes, so a decision taken
on the row just read still holds inside the write transaction that follows.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.resource import FileStorage
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.resource import (
    Resource,
    ResourceChanges,
    ResourceNotFoundError,
    ResourceVersionMismatchError,
)
from app.domain.entities.user import User

RESOURCE = "resource"


async def authorized_resource(
    uow: UnitOfWork, policy: AccessPolicy, actor: User, resource_id: UUID, action: str
) -> Resource:
    """The resource, if `actor` may do `action` on it; the same 404 whether absent or not theirs.
    Read in a unit of work of its own, decided after it has ended."""
    async with uow:
        resource = await uow.resources.get(resource_id)
    if resource is None or not await policy.allows(
        actor, action, RESOURCE, owner_id=resource.owner_id
    ):
        raise ResourceNotFoundError()
    return resource


async def still_there(uow: UnitOfWork, resource_id: UUID) -> Resource:
    """The resource inside the write transaction; it may have been deleted since it was checked."""
    resource = await uow.resources.get(resource_id)
    if resource is None:
        raise ResourceNotFoundError()
    return resource


def audit(
    action: str,
    actor: User,
    target_type: str,
    target_id: UUID,
    context: RequestContext,
    now: datetime,
) -> AuditEvent:
    return AuditEvent.record(
        action=action,
        now=now,
        actor_id=actor.id,
        target_type=target_type,
        target_id=target_id,
        ip=context.ip,
        request_id=context.request_id,
    )


class CreateResource:
    def __init__(self, uow: UnitOfWork, policy: AccessPolicy, clock: Clock) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock

    async def execute(
        self, actor: User, *, name: str, description: str, context: RequestContext
    ) -> Resource:
        if not await self._policy.allows(actor, "create", RESOURCE, owner_id=actor.id):
            raise ResourceNotFoundError()  # nothing to reveal: the collection is theirs
        now = self._clock.now()
        resource = Resource.create(owner_id=actor.id, name=name, description=description, now=now)
        async with self._uow as uow:
            await uow.resources.add(resource)
            await uow.audit_events.add(
                audit("resource.create", actor, RESOURCE, resource.id, context, now)
            )
            await uow.commit()
        return resource


class GetResource:
    def __init__(self, uow: UnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(self, actor: User, resource_id: UUID) -> Resource:
        return await authorized_resource(self._uow, self._policy, actor, resource_id, "read")


class ListResources:
    """The caller's resources; an admin's view is everyone's, or one owner's with `owner_id`."""

    def __init__(self, uow: UnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(
        self, actor: User, *, owner_id: UUID | None, limit: int, cursor: str | None
    ) -> Page[Resource]:
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        # Reading everyone's (or another owner's) needs a rule without the owner condition.
        sees_all = await self._policy.allows(actor, "read", RESOURCE, owner_id=None)
        if not sees_all and owner_id is not None and owner_id != actor.id:
            return Page(items=[], next_cursor=None)  # the same as an owner with nothing
        scope = owner_id if sees_all else actor.id
        async with self._uow as uow:
            rows = await uow.resources.list_page(owner_id=scope, after=after, limit=limit + 1)
        return page_of(rows, limit)


class UpdateResource:
    def __init__(self, uow: UnitOfWork, policy: AccessPolicy, clock: Clock) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock

    async def execute(
        self,
        actor: User,
        resource_id: UUID,
        changes: ResourceChanges,
        context: RequestContext,
        *,
        expected_versions: Collection[int] | None = None,
    ) -> Resource:
        await authorized_resource(self._uow, self._policy, actor, resource_id, "update")
        async with self._uow as uow:
            current = await still_there(uow, resource_id)
            if expected_versions is not None and current.version not in expected_versions:
                raise ResourceVersionMismatchError(current_version=current.version)
            if not changes.as_fields():
                return current
            now = self._clock.now()
            updated = current.apply(changes, now=now)
            if not await uow.resources.replace(updated, expected_version=current.version):
                raise ResourceVersionMismatchError(current_version=None)
            await uow.audit_events.add(
                audit("resource.update", actor, RESOURCE, resource_id, context, now)
            )
            await uow.commit()
        return updated


class DeleteResource:
    """Deletes the resource, its files' rows and then (after the commit) their ciphertext."""

    def __init__(
        self, uow: UnitOfWork, policy: AccessPolicy, storage: FileStorage, clock: Clock
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
