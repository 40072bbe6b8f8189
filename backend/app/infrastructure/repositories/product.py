from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Select, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.application.interfaces.product import ProductFilter
from app.domain.entities.product import PriceRange, Product
from app.domain.services.recommendation import ProductClass
from app.infrastructure.models.product import ProductModel

_products = cast(Table, ProductModel.__table__)


class SqlAlchemyProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, product: Product) -> None:
        await self._session.execute(insert(_products).values(_to_row(product)))

    async def add_many(self, products: Sequence[Product]) -> None:
        if products:
            await self._session.execute(insert(_products), [_to_row(p) for p in products])

    async def get(self, product_id: UUID) -> Product | None:
        result = await self._session.execute(select(_products).where(_products.c.id == product_id))
        row = result.mappings().first()
        return _to_entity(row) if row is not None else None

    async def replace(self, product: Product, *, expected_version: int) -> bool:
        statement = (
            update(_products)
            .where(_products.c.id == product.id, _products.c.version == expected_version)
            .values(_to_row(product))
        )
        result: CursorResult[Any] = await self._session.execute(statement)  # type: ignore[assignment]
        return result.rowcount == 1

    async def delete(self, product_id: UUID) -> bool:
        result: CursorResult[Any] = await self._session.execute(  # type: ignore[assignment]
            delete(_products).where(_products.c.id == product_id)
        )
        return result.rowcount == 1

    async def list_page(
        self, product_filter: ProductFilter, *, after: UUID | None, limit: int
    ) -> list[Product]:
        statement = _filtered(select(_products), product_filter)
        if after is not None:
            statement = statement.where(_products.c.id > after)
        return await self._fetch(statement.order_by(_products.c.id).limit(limit))

    async def list_in_classes(
        self, classes: Sequence[ProductClass], *, limit: int, exclude: UUID | None = None
    ) -> list[Product]:
        if not classes:
            return []
        statement = select(_products).where(
            or_(
                *(
                    and_(
                        _products.c.category == cls.category,
                        _products.c.price_range == cls.price_range.value,
                    )
                    for cls in classes
                )
            )
        )
        if exclude is not None:
            statement = statement.where(_products.c.id != exclude)
        return await self._fetch(statement.order_by(_products.c.id).limit(limit))

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(_products)) or 0)

    async def _fetch(self, statement: Select[Any]) -> list[Product]:
        result = await self._session.execute(statement)
        return [_to_entity(row) for row in result.mappings()]


def _filtered(statement: Select[Any], product_filter: ProductFilter) -> Select[Any]:
    if product_filter.category is not None:
        statement = statement.where(_products.c.category == product_filter.category)
    if product_filter.price_range is not None:
        statement = statement.where(_products.c.price_range == product_filter.price_range.value)
    if product_filter.name_contains:
        statement = statement.where(
            _products.c.name.icontains(product_filter.name_contains, autoescape=True)
        )
    return statement


def _to_row(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "category": product.category,
        "price_range": product.price_range.value,
        "price_cents": product.price_cents,
        "currency": product.currency,
        "description": product.description,
        "version": product.version,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def _to_entity(row: RowMapping) -> Product:
    # Rows were validated on their way in; re-validating every read would only cost time.
    return Product.model_construct(
        id=row["id"],
        name=row["name"],
        category=row["category"],
        price_range=PriceRange(row["price_range"]),
        price_cents=row["price_cents"],
        currency=row["currency"],
        description=row["description"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
