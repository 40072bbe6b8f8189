from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.resource import ResourceUnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.application.use_cases.resource.authorization import RESOURCE
from app.domain.entities.resource import Resource
from app.domain.entities.user import User


class ListResources:
    """The caller's resources; an admin's view is everyone's, or one owner's with `owner_id`."""

    def __init__(self, uow: ResourceUnitOfWork, policy: AccessPolicy) -> None:
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
