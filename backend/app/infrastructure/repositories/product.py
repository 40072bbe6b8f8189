from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Select, Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.product import ProductFilter
from app.domain.entities.product import PriceRange, Product
from app.domain.services.recommendation import ProductClass
from app.infrastructure.models.product import ProductModel

_products = cast(Table, ProductModel.__table__)
_c = _products.c

# Statements are built once, with bind parameters: building a statement and its cache key on every
# call costs more than running it.
_INSERT = insert(_products)
_SELECT_BY_ID = select(_products).where(_c.id == bindparam("product_id"))
_REPLACE = (
    update(_products)
    .where(_c.id == bindparam("product_id"), _c.version == bindparam("expected_version"))
    .values({column.name: bindparam(f"new_{column.name}") for column in _products.columns})
)
_DELETE = delete(_products).where(_c.id == bindparam("product_id"))
_COUNT = select(func.count()).select_from(_products)
_LIKE_ESCAPE = "\\"


class SqlAlchemyProductRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, product: Product) -> None:
        await self._connection.execute(_INSERT, _to_row(product))

    async def add_many(self, products: Sequence[Product]) -> None:
        if products:
            await self._connection.execute(_INSERT, [_to_row(p) for p in products])

    async def get(self, product_id: UUID) -> Product | None:
        result = await self._connection.execute(_SELECT_BY_ID, {"product_id": product_id})
        row = result.mappings().first()
        return _to_entity(row) if row is not None else None

    async def replace(self, product: Product, *, expected_version: int) -> bool:
        values = {f"new_{name}": value for name, value in _to_row(product).items()}
        result = cast(
            CursorResult[Any],
            await self._connection.execute(
                _REPLACE,
                {"product_id": product.id, "expected_version": expected_version, **values},
            ),
        )
        return result.rowcount == 1

    async def delete(self, product_id: UUID) -> bool:
        result = cast(
            CursorResult[Any],
            await self._connection.execute(_DELETE, {"product_id": product_id}),
        )
        return result.rowcount == 1

    async def list_page(
        self, product_filter: ProductFilter, *, after: UUID | None, limit: int
    ) -> list[Product]:
        statement = _list_page_statement(
            category=product_filter.category is not None,
            price_range=product_filter.price_range is not None,
            name_contains=bool(product_filter.name_contains),
            after=after is not None,
        )
        parameters = {
            "category": product_filter.category,
            "price_range": product_filter.price_range.value if product_filter.price_range else None,
            "name_pattern": _contains_pattern(product_filter.name_contains),
            "after": after,
            "limit": limit,
        }
        return await self._fetch(statement, parameters)

    async def list_in_classes(
        self, classes: Sequence[ProductClass], *, limit: int, exclude: UUID | None = None
    ) -> list[Product]:
        if not classes:
            return []
        statement = _classes_statement(len(classes), exclude=exclude is not None)
        parameters: dict[str, Any] = {"limit": limit, "exclude": exclude}
        for index, product_class in enumerate(classes):
            parameters[f"category_{index}"] = product_class.category
            parameters[f"price_range_{index}"] = product_class.price_range.value
        return await self._fetch(statement, parameters)

    async def count(self) -> int:
        return int(await self._connection.scalar(_COUNT) or 0)

    async def _fetch(self, statement: Select[Any], parameters: dict[str, Any]) -> list[Product]:
        result = await self._connection.execute(statement, parameters)
        return [_to_entity(row) for row in result.mappings()]


@lru_cache(maxsize=16)
def _list_page_statement(
    *, category: bool, price_range: bool, name_contains: bool, after: bool
) -> Select[Any]:
    """The keyset-page query for one combination of filters (16 at most), built once."""
    statement = select(_products)
    if category:
        statement = statement.where(_c.category == bindparam("category"))
    if price_range:
        statement = statement.where(_c.price_range == bindparam("price_range"))
    if name_contains:
        statement = statement.where(
            func.lower(_c.name).like(bindparam("name_pattern"), escape=_LIKE_ESCAPE)
        )
    if after:
        statement = statement.where(_c.id > bindparam("after"))
    return statement.order_by(_c.id).limit(bindparam("limit"))


@lru_cache(maxsize=64)
def _classes_statement(class_count: int, *, exclude: bool) -> Select[Any]:
    """Products of any of `class_count` (category, price range) classes, by id, built once."""
    statement = select(_products).where(
        or_(
            *(
                and_(
                    _c.category == bindparam(f"category_{index}"),
                    _c.price_range == bindparam(f"price_range_{index}"),
                )
                for index in range(class_count)
            )
        )
    )
    if exclude:
        statement = statement.where(_c.id != bindparam("exclude"))
    return statement.order_by(_c.id).limit(bindparam("limit"))


def _contains_pattern(text: str | None) -> str | None:
    """A LIKE pattern matching `text` anywhere, case-insensitively, with % and _ taken literally."""
    if not text:
        return None
    escaped = text.lower()
    for special in (_LIKE_ESCAPE, "%", "_"):
        escaped = escaped.replace(special, _LIKE_ESCAPE + special)
    return f"%{escaped}%"


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
