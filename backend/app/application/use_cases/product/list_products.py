from __future__ import annotations

from uuid import UUID

from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.product import ProductFilter, ProductUnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.domain.entities.product import Product


class ListProducts:
    """Anyone browses the catalog, filtered, one keyset page at a time."""

    def __init__(self, uow: ProductUnitOfWork, cache: ReadCache | None = None) -> None:
        self._uow = uow
        self._cache = cache if cache is not None else NoReadCache()

    async def execute(
        self, product_filter: ProductFilter, *, limit: int, cursor: str | None
    ) -> Page[Product]:
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        # One extra row tells whether another page follows, without a COUNT.
        rows = await self._cache.get_or_load(
            ("products", product_filter, after, limit + 1),
            lambda: self._load(product_filter, after, limit + 1),
        )
        return page_of(rows or (), limit)

    async def _load(
        self, product_filter: ProductFilter, after: UUID | None, limit: int
    ) -> tuple[Product, ...]:
        async with self._uow as uow:
            return tuple(await uow.products.list_page(product_filter, after=after, limit=limit))
