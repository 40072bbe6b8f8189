"""The main user journey, in the users' words (features/first_steps.feature)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from pytest_bdd import given, parsers, scenario, then, when

from tests.conftest import empty_all_tables
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    make_settings,
    running_client,
)

FEATURE = "features/first_steps.feature"


@scenario(FEATURE, "The admin stocks the catalog and a shopper gets recommendations")
def test_the_admin_stocks_the_catalog(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


@scenario(FEATURE, "A shopper cannot change the catalog")
def test_a_shopper_cannot_change_the_catalog(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


class Shop:
    """A synchronous face on the async client, for pytest-bdd's synchronous steps."""

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self._portal = portal
        self._client = client

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(partial(self._client.get, url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(partial(self._client.post, url, **kwargs))


PRICE_RANGES = {"cheap": "low", "expensive": "high"}
CATEGORIES = {"book": "books", "jacket": "clothing", "books": "books"}


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    with start_blocking_portal() as portal:
        app_client = running_client(make_settings(database_url))
        with portal.wrap_async_context_manager(app_client) as client:
            yield Shop(portal, client)
        portal.call(empty_all_tables, database_url)


@pytest.fixture
def journey() -> dict[str, Any]:
    return {}


def _log_in(shop: Shop, email: str, password: str) -> dict[str, str]:
    response = shop.post("/api/v1/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@given("I am logged in as the administrator")
def admin_logged_in(shop: Shop, journey: dict[str, Any]) -> None:
    journey["headers"] = _log_in(shop, ADMIN_EMAIL, ADMIN_PASSWORD)


@given("a shopper has signed up and logged in")
def shopper_logged_in(shop: Shop, journey: dict[str, Any]) -> None:
    email = "shopper@example.com"
    response = shop.post("/api/v1/auth/register", json={"email": email, "password": USER_PASSWORD})
    assert response.status_code == 201
    journey["headers"] = _log_in(shop, email, USER_PASSWORD)


@when(parsers.re(r"I add an? (?P<price>\w+) (?P<kind>\w+) called \"(?P<name>[^\"]+)\""))
def add_product(shop: Shop, journey: dict[str, Any], price: str, kind: str, name: str) -> None:
    body = {
        "name": name,
        "category": CATEGORIES[kind],
        "price_range": PRICE_RANGES[price],
        "price_cents": 2500,
    }
    response = shop.post("/api/v1/products", json=body, headers=journey["headers"])
    assert response.status_code == 201, response.text


@then(parsers.parse("the catalog lists {count:d} products"))
def catalog_lists(shop: Shop, count: int) -> None:
    assert len(shop.get("/api/v1/products").json()["items"]) == count


@when(parsers.parse("a shopper asks for {price} {kind}"))
def ask_for(shop: Shop, journey: dict[str, Any], price: str, kind: str) -> None:
    body = {"categories": [CATEGORIES[kind]], "price_range": PRICE_RANGES[price]}
    response = shop.post("/api/v1/products/recommendations", json=body)
    assert response.status_code == 200
    journey["recommended"] = response.json()["items"]


@then(parsers.parse('"{name}" is recommended first with a perfect score'))
def recommended_first(journey: dict[str, Any], name: str) -> None:
    first = journey["recommended"][0]
    assert first["product"]["name"] == name
    assert first["score"] == pytest.approx(1.0)


@then(parsers.parse('"{later}" is not recommended before "{earlier}"'))
def not_before(journey: dict[str, Any], later: str, earlier: str) -> None:
    names = [item["product"]["name"] for item in journey["recommended"]]
    assert names.index(earlier) < names.index(later)


@when("the shopper tries to add a product")
def shopper_adds(shop: Shop, journey: dict[str, Any]) -> None:
    body = {"name": "Sneaky", "category": "books", "price_range": "low", "price_cents": 1}
    journey["response"] = shop.post("/api/v1/products", json=body, headers=journey["headers"])


@then("the shopper is told that only an administrator may do this")
def told_admin_only(journey: dict[str, Any]) -> None:
    response = journey["response"]
    assert response.status_code == 403
    assert response.json()["detail"] == "Only an administrator may do this."
