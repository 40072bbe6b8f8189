from __future__ import annotations

from uuid import UUID

from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.user import User
from app.domain.errors import ProductNotFoundError


class DeleteProduct:
    """An admin removes a product from the catalog."""

    def __init__(self, uow: UnitOfWork, cache: ReadCache | None = None) -> None:
        self._uow = uow
        self._cache = cache if cache is not None else NoReadCache()

    async def execute(self, actor: User, product_id: UUID) -> None:
        actor.require_admin()
        async with self._uow as uow:
            if not await uow.products.delete(product_id):
                raise ProductNotFoundError(product_id=str(product_id))
            await uow.commit()
        await self._cache.invalidate()
