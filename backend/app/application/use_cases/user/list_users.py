from __future__ import annotations

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.user import USER, UserUnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.domain.entities.user import AdminRequiredError, User


class ListUsers:
    """A caller the policy lets (by default, an administrator) pages through every account."""

    def __init__(self, uow: UserUnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(self, actor: User, *, limit: int, cursor: str | None) -> Page[User]:
        # Everyone's accounts: a rule without the owner condition (no owner given).
        if not await self._policy.allows(actor, "read", USER):
            raise AdminRequiredError()
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        async with self._uow as uow:
            rows = await uow.users.list_page(after=after, limit=limit + 1)
        return page_of(rows, limit)
