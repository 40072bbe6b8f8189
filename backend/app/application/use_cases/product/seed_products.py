from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.product import ProductUnitOfWork
from app.domain.entities.product import Product

BATCH_SIZE = 1_000


class SeedProducts:
    """Fills the catalog with generated products, in batches (one transaction each)."""

    def __init__(self, uow: ProductUnitOfWork, cache: ReadCache | None = None) -> None:
        self._uow = uow
        self._cache = cache if cache is not None else NoReadCache()

    async def is_empty(self) -> bool:
        async with self._uow as uow:
            return await uow.products.count() == 0

    async def execute(
        self, products: Iterable[Product], *, on_batch: Callable[[int], None] | None = None
    ) -> int:
        total = 0
        remaining = iter(products)
        while batch := list(islice(remaining, BATCH_SIZE)):
            async with self._uow as uow:
                await uow.products.add_many(batch)
                await uow.commit()
            await self._cache.invalidate()
            total += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
        return total
