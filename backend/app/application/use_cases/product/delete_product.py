from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.product import PRODUCT, ProductUnitOfWork
from app.domain.entities.product import ProductNotFoundError
from app.domain.entities.user import AdminRequiredError, User


class DeleteProduct:
    """A caller the policy lets (by default, an administrator) removes a product from the catalog."""

    def __init__(
        self, uow: ProductUnitOfWork, policy: AccessPolicy, cache: ReadCache | None = None
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._cache = cache if cache is not None else NoReadCache()

    async def execute(self, actor: User, product_id: UUID) -> None:
        # Asked before the transaction: the policy may read the database itself.
        if not await self._policy.allows(actor, "delete", PRODUCT):
            raise AdminRequiredError()
        async with self._uow as uow:
            if not await uow.products.delete(product_id):
                raise ProductNotFoundError(product_id=str(product_id))
            await uow.commit()
        await self._cache.invalidate()
