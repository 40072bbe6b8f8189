from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.e2e.conftest import CreateProduct, Headers

PRODUCTS = "/api/v1/products"
POLICIES = "/api/v1/admin/policies"
UNKNOWN_ID = "01900000-0000-7000-8000-000000000000"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["code"] == code
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


# ------------------------------------------------------------------ create


async def test_admin_creates_a_product_with_201_location_and_etag(
    client: AsyncClient, admin_headers: Headers
) -> None:
    body = {
        "name": "  The Silent Garden  ",
        "category": "Books",
        "price_range": "low",
        "price_cents": 1299,
        "currency": "eur",
        "description": "A novel.",
    }
    response = await client.post(PRODUCTS, json=body, headers=admin_headers)

    assert response.status_code == 201, response.text
    product = response.json()
    assert response.headers["location"] == f"{PRODUCTS}/{product['id']}"
    assert response.headers["etag"] == '"v1"'
    assert product["name"] == "The Silent Garden"
    assert product["category"] == "books"
    assert product["currency"] == "EUR"
    assert product["version"] == 1
    fetched = await client.get(response.headers["location"])
    assert fetched.json() == product


async def test_creating_needs_a_token(client: AsyncClient) -> None:
    response = await client.post(PRODUCTS, json={})
    assert_problem(response, 401, "auth.unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_user_who_is_not_admin_gets_403(client: AsyncClient, user_headers: Headers) -> None:
    body = {"name": "X", "category": "books", "price_range": "low", "price_cents": 1}
    response = await client.post(PRODUCTS, json=body, headers=user_headers)
    assert_problem(response, 403, "auth.admin_required")
    assert (await client.get(PRODUCTS)).json()["items"] == []


async def test_the_policy_decides_who_changes_the_catalog(
    client: AsyncClient, admin_headers: Headers, user_headers: Headers
) -> None:
    rule = {"role": "user", "object_type": "product", "action": "create", "scope": "all"}
    body = {"name": "Zine", "category": "books", "price_range": "low", "price_cents": 500}

    granted = await client.post(POLICIES, json=rule, headers=admin_headers)
    created = await client.post(PRODUCTS, json=body, headers=user_headers)
    revoked = await client.request("DELETE", POLICIES, json=rule, headers=admin_headers)
    refused = await client.post(PRODUCTS, json=body, headers=user_headers)

    assert granted.status_code == 201, granted.text
    assert created.status_code == 201, created.text
    assert revoked.status_code == 204
    assert_problem(refused, 403, "auth.admin_required")
    # Create only: changing and removing still need a rule of their own.
    url = created.headers["location"]
    assert_problem(await client.delete(url, headers=user_headers), 403, "auth.admin_required")
    assert [p["name"] for p in (await client.get(PRODUCTS)).json()["items"]] == ["Zine"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "garden"}, "category"),
        ({"price_range": "cheap"}, "body.price_range"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"price_cents": -1}, "body.price_cents"),
        ({"price_cents": "12"}, "body.price_cents"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "EURO"}, "body.currency"),
        ({"role": "admin"}, "body.role"),
        ({"name": "Desk\x00lamp"}, "name"),
        ({"description": "nul\x00byte"}, "description"),
    ],
)
async def test_invalid_products_are_refused_with_422_naming_the_field(
    client: AsyncClient, admin_headers: Headers, overrides: dict[str, Any], field: str
) -> None:
    body = {"name": "Lamp", "category": "books", "price_range": "low", "price_cents": 100}
    response = await client.post(PRODUCTS, json={**body, **overrides}, headers=admin_headers)
    problem = assert_problem(
        response,
        422,
        "product.unknown_category" if field == "category" else "validation_error",
    )
    assert field in [error["field"] for error in problem["errors"]]
    assert (await client.get(PRODUCTS)).json()["items"] == []


async def test_a_body_that_is_not_json_is_400(client: AsyncClient, admin_headers: Headers) -> None:
    response = await client.post(
        PRODUCTS,
        content=b"{not json",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed_request")


# ------------------------------------------------------------------ read


async def test_get_answers_304_when_the_etag_still_matches(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    product = await create_product()
    first = await client.get(f"{PRODUCTS}/{product['id']}")
    etag = first.headers["etag"]

    again = await client.get(f"{PRODUCTS}/{product['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    other = await client.get(f"{PRODUCTS}/{product['id']}", headers={"If-None-Match": '"v9"'})
    assert other.status_code == 200


async def test_an_unknown_product_is_404(client: AsyncClient) -> None:
    response = await client.get(f"{PRODUCTS}/{UNKNOWN_ID}")
    assert_problem(response, 404, "product.not_found")


async def test_a_malformed_id_is_422(client: AsyncClient) -> None:
    response = await client.get(f"{PRODUCTS}/not-a-uuid")
    assert_problem(response, 422, "validation_error")


# ------------------------------------------------------------------ list


async def test_list_filters_by_category_price_range_and_name(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    lamp = await create_product(name="Desk Lamp", category="electronics", price_range="low")
    await create_product(name="Floor LAMP", category="electronics", price_range="high")
    await create_product(name="Lamplighter", category="books", price_range="low")
    await create_product(name="100% Cotton", category="clothing", price_range="low")

    response = await client.get(
        PRODUCTS, params={"category": "electronics", "price_range": "low", "q": "lamp"}
    )
    assert [p["id"] for p in response.json()["items"]] == [lamp["id"]]

    by_name = await client.get(PRODUCTS, params={"q": "LAMP"})
    assert len(by_name.json()["items"]) == 3
    literal = await client.get(PRODUCTS, params={"q": "0%"})
    assert [p["name"] for p in literal.json()["items"]] == ["100% Cotton"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"price_range": "cheap"},
        {"q": "nul\x00byte"},
        {"category": "\x1b[31m"},
    ],
)
async def test_bad_list_parameters_are_422(client: AsyncClient, params: dict[str, Any]) -> None:
    assert_problem(await client.get(PRODUCTS, params=params), 422, "validation_error")


@pytest.mark.parametrize("cursor", ["garbage", "eyJhZnRlciI6IDF9", "%%%", "e30"])
async def test_a_forged_cursor_is_400(client: AsyncClient, cursor: str) -> None:
    response = await client.get(PRODUCTS, params={"cursor": cursor})
    assert_problem(response, 400, "pagination.invalid_cursor")


async def test_pagination_walks_250_products_exactly_once_while_others_insert(
    client: AsyncClient, admin_headers: Headers, create_product: CreateProduct
) -> None:
    existing = {(await create_product(name=f"Existing {i}"))["id"] for i in range(250)}

    async def insert_more() -> None:
        for i in range(60):
            await create_product(name=f"Concurrent {i}")

    async def walk() -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 17}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get(PRODUCTS, params=params)).json()
            seen.extend(p["id"] for p in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return seen
            await asyncio.sleep(0)

    seen, _ = await asyncio.gather(walk(), insert_more())

    assert len(seen) == len(set(seen)), "a product was repeated"
    assert existing <= set(seen), "a product that existed before the walk was skipped"


# ------------------------------------------------------------------ update


async def test_patch_with_the_current_etag_updates_and_bumps_the_version(
    client: AsyncClient, admin_headers: Headers, create_product: CreateProduct
) -> None:
    product = await create_product(price_cents=1000)
    response = await client.patch(
        f"{PRODUCTS}/{product['id']}",
        json={"price_cents": 1500, "name": "Renamed"},
        headers={**admin_headers, "If-Match": '"v1"'},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["price_cents"], updated["name"], updated["version"]) == (1500, "Renamed", 2)
    assert response.headers["etag"] == '"v2"'
    assert updated["updated_at"] >= product["updated_at"]


async def test_patch_with_a_stale_etag_is_412_and_changes_nothing(
    client: AsyncClient, admin_headers: Headers, create_product: CreateProduct
) -> None:
    product = await create_product()
    url = f"{PRODUCTS}/{product['id']}"
    await client.patch(url, json={"name": "First"}, headers={**admin_headers, "If-Match": '"v1"'})

    stale = await client.patch(
        url, json={"name": "Second"}, headers={**admin_headers, "If-Match": '"v1"'}
    )
    assert_problem(stale, 412, "product.version_mismatch")
    assert (await client.get(url)).json()["name"] == "First"


async def test_patch_refuses_nulls_unknown_fields_and_non_admins(
    client: AsyncClient,
    admin_headers: Headers,
    user_headers: Headers,
    create_product: CreateProduct,
) -> None:
    product = await create_product()
    url = f"{PRODUCTS}/{product['id']}"
    assert_problem(
        await client.patch(url, json={"name": None}, headers=admin_headers), 422, "validation_error"
    )
    assert_problem(
        await client.patch(url, json={"colour": "red"}, headers=admin_headers),
        422,
        "validation_error",
    )
    assert_problem(
        await client.patch(url, json={"name": "X"}, headers=user_headers),
        403,
        "auth.admin_required",
    )
    assert_problem(
        await client.patch(f"{PRODUCTS}/{UNKNOWN_ID}", json={"name": "X"}, headers=admin_headers),
        404,
        "product.not_found",
    )
    assert (await client.get(url)).json() == product


async def test_concurrent_patches_with_the_same_etag_let_exactly_one_win(
    client: AsyncClient, admin_headers: Headers, create_product: CreateProduct
) -> None:
    product = await create_product()
    url = f"{PRODUCTS}/{product['id']}"

    responses = await asyncio.gather(
        *(
            client.patch(
                url, json={"name": f"Writer {i}"}, headers={**admin_headers, "If-Match": '"v1"'}
            )
            for i in range(8)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 7
    assert (await client.get(url)).json()["version"] == 2


# ------------------------------------------------------------------ delete


async def test_delete_answers_204_then_404(
    client: AsyncClient,
    admin_headers: Headers,
    user_headers: Headers,
    create_product: CreateProduct,
) -> None:
    product = await create_product()
    url = f"{PRODUCTS}/{product['id']}"
    assert_problem(await client.delete(url, headers=user_headers), 403, "auth.admin_required")
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    assert_problem(await client.get(url), 404, "product.not_found")
    assert_problem(await client.delete(url, headers=admin_headers), 404, "product.not_found")
