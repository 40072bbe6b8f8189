from __future__ import annotations

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.resource import ResourceUnitOfWork
from app.application.request_context import RequestContext
from app.application.use_cases.resource.audit_events import audit
from app.application.use_cases.resource.authorization import RESOURCE
from app.domain.entities.resource import Resource
from app.domain.entities.user import User
from app.domain.errors import PermissionDeniedError
from app.domain.events.resource import ResourceCreated


class CreateResource:
    """A new resource of the caller's own; `ResourceCreated` is recorded with it and handed out
    by `events` after the commit."""

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
        self, actor: User, *, name: str, description: str, context: RequestContext
    ) -> Resource:
        if not await self._policy.allows(actor, "create", RESOURCE, owner_id=actor.id):
            # 403, not 404: there is no one else's object to hide, the collection is theirs.
            raise PermissionDeniedError()
        now = self._clock.now()
        resource = Resource.create(owner_id=actor.id, name=name, description=description, now=now)
        created = ResourceCreated(occurred_at=now, resource_id=resource.id, owner_id=actor.id)
        async with self._uow as uow:
            await uow.resources.add(resource)
            await uow.audit_events.add(
                audit("resource.create", actor, RESOURCE, resource.id, context, now)
            )
            await uow.outbox.add([created], now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([created])
        return resource
