"""Ports of the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.application.interfaces.events import OutboxUnitOfWork
from app.domain.entities.product import PriceRange, Product
from app.domain.services.recommendation import ProductClass

PRODUCT = "product"
PRODUCT_OBJECT_TYPES = (PRODUCT,)


@dataclass(frozen=True, slots=True)
class ProductFilter:
    category: str | None = None
    price_range: PriceRange | None = None
    name_contains: str | None = None  # case-insensitive


class ProductRepository(Protocol):
    """Stores products. Lists are ordered by id (creation order), which keeps keyset pages stable."""

    async def add(self, product: Product) -> None: ...

    async def add_many(self, products: Sequence[Product]) -> None: ...

    async def get(self, product_id: UUID) -> Product | None: ...

    async def replace(self, product: Product, *, expected_version: int) -> bool:
        """Store `product` if the stored one is still at `expected_version`; False if it moved on."""
        ...

    async def delete(self, product_id: UUID) -> bool:
        """Delete the product; False if there was none."""
        ...

    async def list_page(
        self, product_filter: ProductFilter, *, after: UUID | None, limit: int
    ) -> list[Product]:
        """Up to `limit` matching products with an id greater than `after`, by id."""
        ...

    async def list_in_classes(
        self, classes: Sequence[ProductClass], *, limit: int, exclude: UUID | None = None
    ) -> list[Product]:
        """Up to `limit` products of any of `classes` (but `exclude`), by id."""
        ...

    async def count(self) -> int: ...


class ProductUnitOfWork(OutboxUnitOfWork, Protocol):
    """What the product feature's use cases touch: the catalog, and the outbox its changes are
    told through."""

    @property
    def products(self) -> ProductRepository: ...
