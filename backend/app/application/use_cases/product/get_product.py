from __future__ import annotations

from uuid import UUID

from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.product import ProductUnitOfWork
from app.domain.entities.product import Product, ProductNotFoundError


class GetProduct:
    """Anyone reads one product."""

    def __init__(self, uow: ProductUnitOfWork, cache: ReadCache | None = None) -> None:
        self._uow = uow
        self._cache = cache if cache is not None else NoReadCache()

    async def execute(self, product_id: UUID) -> Product:
        product = await self._cache.get_or_load(
            ("product", product_id), lambda: self._load(product_id)
        )
        if product is None:
            raise ProductNotFoundError(product_id=str(product_id))
        return product

    async def _load(self, product_id: UUID) -> Product | None:
        async with self._uow as uow:
            return await uow.products.get(product_id)
