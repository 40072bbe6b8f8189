"""Issue 9, item 6: a NUL or ESC in any text a user sends is a 422 problem+json that stores
nothing, the same on SQLite and PostgreSQL (PostgreSQL used to answer a NUL with a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.e2e.conftest import USER_PASSWORD, Headers
from tests.e2e.payments_helpers import INTENTS, PAYMENTS, account

BAD = {"nul": "\x00", "esc": "\x1b"}
RESOURCES = "/api/v1/resources"
PRODUCTS = "/api/v1/products"
ME = "/api/v1/users/me"
REGISTER = "/api/v1/auth/register"
POLICIES = "/api/v1/admin/policies"

PRODUCT = {
    "name": "Atlas",
    "category": "books",
    "price_range": "low",
    "price_cents": 100,
    "currency": "USD",
    "description": "",
}


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert any(error["field"].endswith(field) for error in problem["errors"]), problem


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", ["name", "description"])
async def test_resource_text(
    client: AsyncClient, user_headers: Headers, field: str, bad: str
) -> None:
    body = {"name": "Notes", "description": "line one\nline two\ttabbed", field: f"a{bad}b"}
    assert_refused(await client.post(RESOURCES, json=body, headers=user_headers), field)
    assert (await client.get(RESOURCES, headers=user_headers)).json()["items"] == []

    created = await client.post(RESOURCES, json={"name": "Notes"}, headers=user_headers)
    assert created.status_code == 201, created.text
    path = f"{RESOURCES}/{created.json()['id']}"
    patched = await client.patch(path, json={field: f"{bad}x"}, headers=user_headers)
    assert_refused(patched, field)
    assert (await client.get(path, headers=user_headers)).json() == created.json()


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", ["name", "category", "description", "currency"])
async def test_product_text(
    client: AsyncClient, admin_headers: Headers, field: str, bad: str
) -> None:
    body = {**PRODUCT, field: f"{PRODUCT[field] or 'x'}{bad}"}
    assert_refused(await client.post(PRODUCTS, json=body, headers=admin_headers), field)
    assert (await client.get(PRODUCTS)).json()["items"] == []

    created = await client.post(PRODUCTS, json=PRODUCT, headers=admin_headers)
    assert created.status_code == 201, created.text
    path = f"{PRODUCTS}/{created.json()['id']}"
    patched = await client.patch(path, json={field: f"x{bad}"}, headers=admin_headers)
    assert_refused(patched, field)
    assert (await client.get(path)).json() == created.json()


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
async def test_product_queries(client: AsyncClient, bad: str) -> None:
    for query in ("q", "category"):
        assert_refused(await client.get(PRODUCTS, params={query: f"a{bad}"}), query)
    recommended = await client.post(
        f"{PRODUCTS}/recommendations", json={"categories": [f"books{bad}"]}
    )
    assert_refused(recommended, "categories")


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
async def test_user_text(client: AsyncClient, user_headers: Headers, bad: str) -> None:
    registered = await client.post(
        REGISTER,
        json={"email": "eve@example.com", "password": USER_PASSWORD, "full_name": f"Eve{bad}"},
    )
    assert_refused(registered, "full_name")
    refused_email = await client.post(
        REGISTER, json={"email": f"eve{bad}@example.com", "password": USER_PASSWORD}
    )
    assert_refused(refused_email, "email")

    before = (await client.get(ME, headers=user_headers)).json()
    assert_refused(
        await client.patch(ME, json={"full_name": f"Ada{bad}"}, headers=user_headers), "full_name"
    )
    assert (await client.get(ME, headers=user_headers)).json() == before


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", ["role", "object_type", "action"])
async def test_policy_text(
    client: AsyncClient, admin_headers: Headers, field: str, bad: str
) -> None:
    rule = {"role": "user", "object_type": "product", "action": "read", "scope": "all"}
    before = (await client.get(POLICIES, headers=admin_headers)).json()
    response = await client.post(
        POLICIES, json={**rule, field: f"{rule[field]}{bad}"}, headers=admin_headers
    )
    assert_refused(response, field)
    assert (await client.get(POLICIES, headers=admin_headers)).json() == before
    audit = await client.get("/api/v1/admin/audit", params={"action": f"x{bad}"})
    assert audit.status_code in (401, 422)  # without a token: refused before anything is read


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("where", ["key", "value"])
async def test_payment_metadata(pay_client: AsyncClient, where: str, bad: str) -> None:
    alice = await account(pay_client, "alice@example.com")
    metadata = {f"order{bad}": "1"} if where == "key" else {"order": f"1{bad}"}
    response = await pay_client.post(
        INTENTS,
        json={"amount_cents": 1_000, "currency": "usd", "metadata": metadata},
        headers={**alice, "Idempotency-Key": f"text-rule-{where}"},
    )
    assert_refused(response, "metadata")
    assert (await pay_client.get(PAYMENTS, headers=alice)).json()["items"] == []
