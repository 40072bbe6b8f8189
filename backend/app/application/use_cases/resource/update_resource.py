from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.resource import ResourceUnitOfWork
from app.application.request_context import RequestContext
from app.application.use_cases.resource.audit_events import audit
from app.application.use_cases.resource.authorization import (
    RESOURCE,
    authorized_resource,
    still_there,
)
from app.domain.entities.resource import Resource, ResourceChanges, ResourceVersionMismatchError
from app.domain.entities.user import User
from app.domain.events.resource import ResourceUpdated


class UpdateResource:
    """Changes a resource the caller may update; given `expected_versions`, only from one of them.
    A stored change records `ResourceUpdated`, handed out by `events` after the commit."""

    def __init__(
        self,
        uow: ResourceUnitOfWork,
        policy: AccessPolicy,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._events = events

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
            event = ResourceUpdated(
                occurred_at=now,
                resource_id=resource_id,
                owner_id=updated.owner_id,
                # Names only: a resource's name and description may be personal.
                changed_fields=tuple(
                    name
                    for name in changes.as_fields()
                    if getattr(updated, name) != getattr(current, name)
                ),
            )
            await uow.outbox.add([event], now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([event])
        return updated
