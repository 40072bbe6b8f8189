from __future__ import annotations

from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.pagination import Page, decode_cursor, encode_cursor, ensure_page_size
from app.domain.entities.payment import Payment
from app.domain.entities.user import User


class ListPayments:
    """The caller's own payments, oldest first, in keyset pages."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, actor: User, *, limit: int, cursor: str | None) -> Page[Payment]:
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        async with self._uow as uow:
            rows = await uow.payments.list_page(user_id=actor.id, after=after, limit=limit + 1)
        items = rows[:limit]
        has_more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(items[-1].id) if has_more else None)
