from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.e2e.conftest import CreateProduct
from tests.e2e.test_product import UNKNOWN_ID, assert_problem

RECOMMENDATIONS = "/api/v1/products/recommendations"


async def test_an_exact_category_and_price_match_ranks_first_with_score_1(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    pricey_book = await create_product(category="books", price_range="high")
    cheap_shirt = await create_product(category="clothing", price_range="low")
    cheap_book = await create_product(category="books", price_range="low")
    mid_book = await create_product(category="books", price_range="medium")

    response = await client.post(
        RECOMMENDATIONS, json={"categories": ["books"], "price_range": "low", "limit": 10}
    )

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    ids = [item["product"]["id"] for item in items]
    assert ids[:3] == [cheap_book["id"], mid_book["id"], pricey_book["id"]]
    assert items[0]["score"] == pytest.approx(1.0)
    assert all(0 <= item["score"] <= 1 for item in items)
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    # Another category still resembles a cheap preference through its price level.
    assert ids[-1] == cheap_shirt["id"]


async def test_ties_are_broken_by_id_and_limit_applies(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    books = [await create_product(category="books", price_range="low") for _ in range(5)]
    response = await client.post(RECOMMENDATIONS, json={"categories": ["books"], "limit": 3})
    items = response.json()["items"]
    assert [item["product"]["id"] for item in items] == sorted(b["id"] for b in books)[:3]
    assert {item["score"] for item in items} == {1.0}


async def test_without_a_price_range_products_are_compared_by_category_alone(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    await create_product(category="electronics", price_range="high")
    await create_product(category="books", price_range="low")
    response = await client.post(RECOMMENDATIONS, json={"categories": ["electronics"]})
    items = response.json()["items"]
    assert [item["product"]["category"] for item in items] == ["electronics"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"categories": []}, "validation_error"),
        ({"categories": ["garden"]}, "product.unknown_category"),
        ({"categories": ["books"], "limit": 0}, "validation_error"),
        ({"categories": ["books"], "limit": 51}, "validation_error"),
        ({"categories": ["books"], "price_range": "free"}, "validation_error"),
        ({"categories": "books"}, "validation_error"),
        ({"categories": ["books"], "extra": 1}, "validation_error"),
    ],
)
async def test_bad_preferences_are_422(
    client: AsyncClient, body: dict[str, Any], code: str
) -> None:
    assert_problem(await client.post(RECOMMENDATIONS, json=body), 422, code)


async def test_similar_products_exclude_the_product_itself(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    product = await create_product(category="clothing", price_range="medium")
    twin = await create_product(category="clothing", price_range="medium")
    cousin = await create_product(category="clothing", price_range="high")

    response = await client.get(f"/api/v1/products/{product['id']}/similar", params={"limit": 5})

    assert response.status_code == 200
    ids = [item["product"]["id"] for item in response.json()["items"]]
    assert product["id"] not in ids
    assert ids[:2] == [twin["id"], cousin["id"]]


async def test_similar_to_an_unknown_product_is_404(client: AsyncClient) -> None:
    response = await client.get(f"/api/v1/products/{UNKNOWN_ID}/similar")
    assert_problem(response, 404, "product.not_found")
