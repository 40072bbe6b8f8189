from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.product import ProductUnitOfWork
from app.domain.entities.product import Product
from app.domain.events.product import ProductsSeeded

BATCH_SIZE = 1_000


class SeedProducts:
    """Fills the catalog with generated products, in batches (one transaction each).

    Each batch records one `ProductsSeeded`, not a `ProductCreated` per product: a seed writes
    thousands of rows nobody has seen yet, and what listeners do with it (empty their catalog
    cache) needs only to know that the catalog changed."""

    def __init__(
        self,
        uow: ProductUnitOfWork,
        clock: Clock,
        cache: ReadCache | None = None,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache if cache is not None else NoReadCache()
        self._events = events

    async def is_empty(self) -> bool:
        async with self._uow as uow:
            return await uow.products.count() == 0

    async def execute(
        self, products: Iterable[Product], *, on_batch: Callable[[int], None] | None = None
    ) -> int:
        total = 0
        remaining = iter(products)
        while batch := list(islice(remaining, BATCH_SIZE)):
            now = self._clock.now()
            seeded = ProductsSeeded(occurred_at=now, count=len(batch))
            async with self._uow as uow:
                await uow.products.add_many(batch)
                await uow.outbox.add([seeded], now)
                await uow.commit()
            await self._cache.invalidate()
            if self._events is not None:
                await self._events.relay([seeded])
            total += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
        return total
