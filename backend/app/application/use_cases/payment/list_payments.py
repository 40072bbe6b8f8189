from __future__ import annotations

from app.application.interfaces.payment import PaymentUnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.domain.entities.payment import Payment
from app.domain.entities.user import User


class ListPayments:
    """The caller's own payments, oldest first, in keyset pages."""

    def __init__(self, uow: PaymentUnitOfWork) -> None:
        self._uow = uow

    async def execute(self, actor: User, *, limit: int, cursor: str | None) -> Page[Payment]:
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        async with self._uow as uow:
            rows = await uow.payments.list_page(user_id=actor.id, after=after, limit=limit + 1)
        return page_of(rows, limit)
