from __future__ import annotations

from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.domain.entities.user import User


class ListUsers:
    """Administrators page through every account."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, actor: User, *, limit: int, cursor: str | None) -> Page[User]:
        actor.require_admin()
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        async with self._uow as uow:
            rows = await uow.users.list_page(after=after, limit=limit + 1)
        return page_of(rows, limit)
