"""Recommendation use cases: by preference, and similar to a product."""

from __future__ import annotations

from uuid import UUID

import pytest

from app.application.services.product import ProductSettings
from app.application.use_cases.product.recommend_products import (
    MAX_RECOMMENDATIONS,
    RecommendProducts,
)
from app.application.use_cases.product.recommend_similar_products import RecommendSimilarProducts
from app.domain.entities.product import (
    PriceRange,
    Product,
    ProductNotFoundError,
    UnknownCategoryError,
)
from app.domain.errors import InvalidValueError
from app.domain.services.recommendation import Preference
from app.domain.value_objects.identifiers import new_id
from tests.builders import make_product
from tests.fakes import CATEGORIES, FakeUnitOfWork

CATALOG = ProductSettings(categories=CATEGORIES)


@pytest.fixture
def shelf(uow: FakeUnitOfWork) -> dict[str, Product]:
    """Two cheap books, a mid-priced book, an expensive shirt and a cheap gadget."""
    shelf = {
        "book_1": make_product(category="books", price_range=PriceRange.LOW),
        "book_2": make_product(category="books", price_range=PriceRange.LOW),
        "book_mid": make_product(category="books", price_range=PriceRange.MEDIUM),
        "shirt_high": make_product(category="clothing", price_range=PriceRange.HIGH),
        "gadget_low": make_product(category="electronics", price_range=PriceRange.LOW),
    }
    uow.fake_products.seed(*shelf.values())
    return shelf


def cheap_books_first(shelf: dict[str, Product]) -> list[UUID]:
    cheap_books = sorted([shelf["book_1"].id, shelf["book_2"].id])
    return [*cheap_books, shelf["book_mid"].id, shelf["shirt_high"].id, shelf["gadget_low"].id]


async def test_recommend_ranks_exact_matches_first_then_by_falling_score(
    uow: FakeUnitOfWork, shelf: dict[str, Product]
) -> None:
    preference = Preference(frozenset({"books"}), PriceRange.LOW)

    found = await RecommendProducts(uow, CATALOG).execute(preference, limit=10)

    assert [r.product.id for r in found] == cheap_books_first(shelf)
    scores = [r.score for r in found]
    assert scores[:2] == [1.0, 1.0]
    assert all(1 > s > 0 for s in scores[2:])
    assert scores == sorted(scores, reverse=True)
    assert uow.committed == 0


async def test_recommend_stops_at_the_limit(uow: FakeUnitOfWork, shelf: dict[str, Product]) -> None:
    preference = Preference(frozenset({"books"}), PriceRange.LOW)

    found = await RecommendProducts(uow, CATALOG).execute(preference, limit=3)

    assert [r.product.id for r in found] == cheap_books_first(shelf)[:3]


async def test_recommend_by_category_alone_leaves_other_categories_out(
    uow: FakeUnitOfWork, shelf: dict[str, Product]
) -> None:
    found = await RecommendProducts(uow, CATALOG).execute(
        Preference(frozenset({"clothing"})), limit=10
    )

    assert [(r.product.id, r.score) for r in found] == [(shelf["shirt_high"].id, 1.0)]


@pytest.mark.parametrize("limit", [0, -1, MAX_RECOMMENDATIONS + 1])
async def test_recommend_refuses_a_limit_out_of_bounds(uow: FakeUnitOfWork, limit: int) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await RecommendProducts(uow, CATALOG).execute(Preference(frozenset({"books"})), limit=limit)

    assert caught.value.field == "limit"


async def test_recommend_accepts_the_largest_limit(
    uow: FakeUnitOfWork, shelf: dict[str, Product]
) -> None:
    found = await RecommendProducts(uow, CATALOG).execute(
        Preference(frozenset(CATEGORIES)), limit=MAX_RECOMMENDATIONS
    )

    assert len(found) == len(shelf)


async def test_recommend_refuses_an_unknown_category(uow: FakeUnitOfWork) -> None:
    with pytest.raises(UnknownCategoryError):
        await RecommendProducts(uow, CATALOG).execute(Preference(frozenset({"toys"})), limit=5)


async def test_similar_leaves_the_product_itself_out(
    uow: FakeUnitOfWork, shelf: dict[str, Product]
) -> None:
    book = shelf["book_1"]

    found = await RecommendSimilarProducts(uow, CATALOG).execute(book.id, limit=10)

    assert [r.product.id for r in found] == [i for i in cheap_books_first(shelf) if i != book.id]
    assert found[0].score == 1.0


async def test_similar_raises_not_found_for_an_unknown_product(
    uow: FakeUnitOfWork, shelf: dict[str, Product]
) -> None:
    with pytest.raises(ProductNotFoundError):
        await RecommendSimilarProducts(uow, CATALOG).execute(new_id(), limit=5)


@pytest.mark.parametrize("limit", [0, MAX_RECOMMENDATIONS + 1])
async def test_similar_refuses_a_limit_out_of_bounds(
    uow: FakeUnitOfWork, shelf: dict[str, Product], limit: int
) -> None:
    with pytest.raises(InvalidValueError):
        await RecommendSimilarProducts(uow, CATALOG).execute(shelf["book_1"].id, limit=limit)
