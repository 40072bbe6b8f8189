"""SqlAlchemyProductRepository against real, migrated SQLite and PostgreSQL databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.product import ProductFilter
from app.domain.entities.product import PriceRange, Product, ProductChanges
from app.domain.services.recommendation import ProductClass
from app.infrastructure.models.product import ProductModel
from app.infrastructure.repositories.product import SqlAlchemyProductRepository
from tests.builders import make_product

NOW = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
CATEGORIES = frozenset({"books", "electronics", "clothing"})


def ids(products: list[Product]) -> list[UUID]:
    return [product.id for product in products]


@pytest.fixture
def products(connection: AsyncConnection) -> SqlAlchemyProductRepository:
    return SqlAlchemyProductRepository(connection)


async def add_in_reverse_id_order(
    products: SqlAlchemyProductRepository, *items: Product
) -> list[Product]:
    """Store `items` against id order, so that reading them back in id order proves the sort."""
    for product in sorted(items, key=lambda p: p.id, reverse=True):
        await products.add(product)
    return sorted(items, key=lambda p: p.id)


async def test_get_returns_every_field_as_it_was_added(
    products: SqlAlchemyProductRepository,
) -> None:
    product = make_product(price_range=PriceRange.MEDIUM, currency="usd", description="", now=NOW)
    await products.add(product)

    stored = await products.get(product.id)

    assert stored == product
    assert isinstance(stored.id, UUID)
    assert stored.price_range is PriceRange.MEDIUM
    assert stored.currency == "USD"
    assert stored.created_at.tzinfo is UTC
    assert stored.updated_at.tzinfo is UTC


async def test_timestamps_come_back_in_utc_whatever_offset_they_were_given_in(
    products: SqlAlchemyProductRepository,
) -> None:
    in_paris = datetime(2026, 6, 1, 14, 30, 0, 500, tzinfo=timezone(timedelta(hours=2)))
    product = make_product(now=in_paris)
    await products.add(product)

    stored = await products.get(product.id)

    assert stored is not None
    assert stored.created_at == datetime(2026, 6, 1, 12, 30, 0, 500, tzinfo=UTC)
    assert stored.created_at.tzinfo is UTC


async def test_get_returns_none_for_an_unknown_id(products: SqlAlchemyProductRepository) -> None:
    assert await products.get(make_product().id) is None


async def test_replace_stores_the_next_version(products: SqlAlchemyProductRepository) -> None:
    product = make_product(now=NOW)
    await products.add(product)
    later = NOW + timedelta(hours=1)
    changed = product.apply(
        ProductChanges(name="Refactoring", price_cents=3_900, category="Electronics"),
        now=later,
        categories=CATEGORIES,
    )

    assert await products.replace(changed, expected_version=1) is True

    stored = await products.get(product.id)
    assert stored == changed
    assert (stored.version, stored.category, stored.updated_at) == (2, "electronics", later)
    assert stored.created_at == NOW


async def test_replace_refuses_a_stale_version(products: SqlAlchemyProductRepository) -> None:
    product = make_product()
    await products.add(product)
    first = product.apply(ProductChanges(name="First edit"), now=NOW, categories=CATEGORIES)
    second = product.apply(ProductChanges(name="Second edit"), now=NOW, categories=CATEGORIES)
    assert await products.replace(first, expected_version=1) is True

    assert await products.replace(second, expected_version=1) is False

    assert await products.get(product.id) == first


async def test_replace_of_an_unknown_product_changes_nothing(
    products: SqlAlchemyProductRepository,
) -> None:
    assert await products.replace(make_product(), expected_version=1) is False
    assert await products.count() == 0


async def test_delete_removes_the_product_once(products: SqlAlchemyProductRepository) -> None:
    product, other = make_product(), make_product(name="Kept")
    await products.add_many([product, other])

    assert await products.delete(product.id) is True
    assert await products.delete(product.id) is False

    assert await products.get(product.id) is None
    assert await products.get(other.id) == other


async def test_add_many_stores_every_product(products: SqlAlchemyProductRepository) -> None:
    batch = [make_product(name=f"Volume {n}") for n in range(1, 4)]

    await products.add_many(batch)
    await products.add_many([])

    assert [await products.get(product.id) for product in batch] == batch
    assert await products.count() == 3


async def test_count_counts_the_stored_products(products: SqlAlchemyProductRepository) -> None:
    assert await products.count() == 0
    await products.add_many([make_product(), make_product()])
    assert await products.count() == 2


async def test_list_page_orders_by_id(products: SqlAlchemyProductRepository) -> None:
    expected = await add_in_reverse_id_order(products, *(make_product() for _ in range(5)))

    listed = await products.list_page(ProductFilter(), after=None, limit=10)

    assert ids(listed) == ids(expected)


async def test_list_page_walks_keyset_pages_without_gaps_or_repeats(
    products: SqlAlchemyProductRepository,
) -> None:
    expected = await add_in_reverse_id_order(products, *(make_product() for _ in range(5)))

    first = await products.list_page(ProductFilter(), after=None, limit=2)
    second = await products.list_page(ProductFilter(), after=first[-1].id, limit=2)
    third = await products.list_page(ProductFilter(), after=second[-1].id, limit=2)
    beyond = await products.list_page(ProductFilter(), after=third[-1].id, limit=2)

    assert [ids(first), ids(second), ids(third), beyond] == [
        ids(expected[0:2]),
        ids(expected[2:4]),
        ids(expected[4:5]),
        [],
    ]


async def test_list_page_filters_by_category_and_price_range(
    products: SqlAlchemyProductRepository,
) -> None:
    cheap_book = make_product(category="books", price_range=PriceRange.LOW)
    dear_book = make_product(category="books", price_range=PriceRange.HIGH)
    cheap_shirt = make_product(category="clothing", price_range=PriceRange.LOW)
    await products.add_many([cheap_book, dear_book, cheap_shirt])

    books = await products.list_page(ProductFilter(category="books"), after=None, limit=10)
    cheap = await products.list_page(
        ProductFilter(price_range=PriceRange.LOW), after=None, limit=10
    )
    cheap_books = await products.list_page(
        ProductFilter(category="books", price_range=PriceRange.LOW), after=None, limit=10
    )

    assert set(ids(books)) == {cheap_book.id, dear_book.id}
    assert set(ids(cheap)) == {cheap_book.id, cheap_shirt.id}
    assert ids(cheap_books) == [cheap_book.id]


@pytest.mark.parametrize(
    ("name_contains", "expected_names"),
    [
        ("COTTON S", {"100% Cotton Shirt"}),
        ("cOtToN_s", {"Cotton_Socks"}),
        ("100%", {"100% Cotton Shirt"}),
        ("n_s", {"Cotton_Socks"}),
        ("ac/dc", {"AC/DC Tour Shirt"}),
        ("%", {"100% Cotton Shirt"}),
        ("_", {"Cotton_Socks"}),
    ],
)
async def test_list_page_matches_names_case_insensitively_and_takes_wildcards_literally(
    products: SqlAlchemyProductRepository, name_contains: str, expected_names: set[str]
) -> None:
    names = ["100% Cotton Shirt", "1000 Cotton Threads", "Cotton_Socks", "CottonXSocks"]
    await products.add_many([make_product(name=name) for name in [*names, "AC/DC Tour Shirt"]])

    listed = await products.list_page(
        ProductFilter(name_contains=name_contains), after=None, limit=10
    )

    assert {product.name for product in listed} == expected_names


async def test_list_page_matches_names_case_insensitively_beyond_ascii(
    products: SqlAlchemyProductRepository,
) -> None:
    await products.add_many([make_product(name="Café Crème"), make_product(name="Cafe Latte")])

    listed = await products.list_page(ProductFilter(name_contains="CAFÉ"), after=None, limit=10)

    assert [product.name for product in listed] == ["Café Crème"]


async def test_list_in_classes_returns_only_the_given_classes_in_id_order(
    products: SqlAlchemyProductRepository,
) -> None:
    cheap_books = [make_product(category="books", price_range=PriceRange.LOW) for _ in range(2)]
    dear_gadgets = [make_product(category="electronics", price_range=PriceRange.HIGH)]
    others = [
        make_product(category="books", price_range=PriceRange.HIGH),
        make_product(category="electronics", price_range=PriceRange.LOW),
        make_product(category="clothing", price_range=PriceRange.LOW),
    ]
    expected = await add_in_reverse_id_order(products, *cheap_books, *dear_gadgets)
    await products.add_many(others)
    classes = [
        ProductClass("books", PriceRange.LOW),
        ProductClass("electronics", PriceRange.HIGH),
    ]

    listed = await products.list_in_classes(classes, limit=10)

    assert ids(listed) == ids(expected)


async def test_list_in_classes_leaves_out_the_excluded_product_and_honours_the_limit(
    products: SqlAlchemyProductRepository,
) -> None:
    expected = await add_in_reverse_id_order(
        products,
        *(make_product(category="clothing", price_range=PriceRange.MEDIUM) for _ in range(4)),
    )
    classes = [ProductClass("clothing", PriceRange.MEDIUM)]

    limited = await products.list_in_classes(classes, limit=2)
    excluding = await products.list_in_classes(classes, limit=10, exclude=expected[1].id)

    assert ids(limited) == ids(expected[:2])
    assert ids(excluding) == [expected[0].id, expected[2].id, expected[3].id]


async def test_list_in_classes_of_no_class_is_empty(
    products: SqlAlchemyProductRepository,
) -> None:
    await products.add(make_product())
    assert await products.list_in_classes([], limit=10) == []


@pytest.mark.parametrize(
    "broken",
    [{"price_cents": -1}, {"version": 0}, {"price_range": "extreme"}],
    ids=["negative-price", "version-zero", "unknown-price-range"],
)
async def test_the_database_refuses_rows_that_break_its_check_constraints(
    connection: AsyncConnection, broken: dict[str, Any]
) -> None:
    row = {
        "id": make_product().id,
        "name": "Raw row",
        "category": "books",
        "price_range": "low",
        "price_cents": 100,
        "currency": "EUR",
        "description": "",
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        **broken,
    }

    with pytest.raises(IntegrityError):
        async with connection.begin_nested():
            await connection.execute(insert(ProductModel).values(row))
