from __future__ import annotations

from app.application.interfaces.product import ProductFilter
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.pagination import Page, decode_cursor, encode_cursor, ensure_page_size
from app.domain.entities.product import Product


class ListProducts:
    """Anyone browses the catalog, filtered, one keyset page at a time."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(
        self, product_filter: ProductFilter, *, limit: int, cursor: str | None
    ) -> Page[Product]:
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        async with self._uow as uow:
            # One extra row tells whether another page follows, without a COUNT.
            rows = await uow.products.list_page(product_filter, after=after, limit=limit + 1)
        items = rows[:limit]
        has_more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(items[-1].id) if has_more else None)
