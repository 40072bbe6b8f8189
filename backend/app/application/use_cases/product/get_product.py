from __future__ import annotations

from uuid import UUID

from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.product import Product
from app.domain.errors import ProductNotFoundError


class GetProduct:
    """Anyone reads one product."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def execute(self, product_id: UUID) -> Product:
        async with self._uow as uow:
            product = await uow.products.get(product_id)
        if product is None:
            raise ProductNotFoundError(product_id=str(product_id))
        return product
