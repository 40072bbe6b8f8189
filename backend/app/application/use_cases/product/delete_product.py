from __future__ import annotations

from uuid import UUID

from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.user import User
from app.domain.errors import ProductNotFoundError


class DeleteProduct:
    """An admin removes a product from the catalog."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, actor: User, product_id: UUID) -> None:
        actor.require_admin()
        async with self._uow as uow:
            if not await uow.products.delete(product_id):
                raise ProductNotFoundError(product_id=str(product_id))
            await uow.commit()
