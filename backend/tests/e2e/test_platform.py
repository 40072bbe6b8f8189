"""The conventions every endpoint follows (API.md "Conventions" and "Platform")."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from app.presentation.main import create_app
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CreateProduct,
    make_settings,
    running_client,
)
from tests.e2e.test_product import PRODUCTS, assert_problem


async def test_every_response_carries_a_request_id_and_nosniff(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_sane_request_id_is_echoed_and_an_insane_one_replaced(client: AsyncClient) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123.DEF_4"})
    assert echoed.headers["x-request-id"] == "abc-123.DEF_4"
    replaced = await client.get(
        "/health/live", headers={"X-Request-ID": "bad id\twith spaces" * 20}
    )
    assert replaced.headers["x-request-id"] != "bad id\twith spaces" * 20
    assert len(replaced.headers["x-request-id"]) == 32


async def test_unknown_routes_and_methods_are_problems(client: AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_problem(await client.put(PRODUCTS), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("accept_language", "language", "fragment"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr", "n'existe pas"),
        ("de", "de", "existiert nicht"),
        ("es, de;q=0.5", "de", "existiert nicht"),
        ("ja", "en", "does not exist"),
        ("fr;q=0, en", "en", "does not exist"),
        (";;;q=abc,,", "en", "does not exist"),
    ],
)
async def test_problem_details_speak_the_callers_language(
    client: AsyncClient, accept_language: str, language: str, fragment: str
) -> None:
    response = await client.get(
        f"{PRODUCTS}/01900000-0000-7000-8000-000000000000",
        headers={"Accept-Language": accept_language},
    )
    body = assert_problem(response, 404, "product.not_found")
    assert response.headers["content-language"] == language
    assert fragment in body["detail"]


async def test_a_declared_body_over_the_limit_is_413_before_it_is_read(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=b"x" * (1_048_576 + 1),
        headers={"Content-Type": "application/json"},
    )
    body = assert_problem(response, 413, "request_too_large")
    assert "1048576" in body["detail"]


async def test_a_streamed_body_is_cut_off_at_the_limit_with_413(client: AsyncClient) -> None:
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(64):
            chunks_sent += 1
            yield b"x" * 65_536

    response = await client.post(
        "/api/v1/auth/register", content=endless(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "request_too_large")
    assert chunks_sent < 64


async def test_large_responses_are_gzipped(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    for _ in range(10):
        await create_product(description="A long description. " * 20)
    response = await client.get(PRODUCTS, params={"limit": 10}, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["items"]) == 10


async def test_metrics_count_requests_by_route_template_and_show_the_pool(
    client: AsyncClient, create_product: CreateProduct
) -> None:
    product = await create_product()
    await client.get(f"{PRODUCTS}/{product['id']}")
    await client.get(f"{PRODUCTS}/{product['id']}")

    metrics = (await client.get("/metrics")).text

    assert (
        'http_requests_total{method="GET",route="/api/v1/products/{product_id}",status="200"} 2.0'
        in metrics
    )
    assert "http_request_duration_seconds_bucket" in metrics
    assert "db_pool_connections_in_use" in metrics
    # The first read loaded the product, the second was served by the catalog cache.
    assert 'read_cache_lookups_total{cache="product",outcome="hit"} 1.0' in metrics
    assert product["id"] not in metrics


async def test_each_request_logs_one_json_line_without_secrets(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="strata.access")
    await client.post(
        "/api/v1/auth/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )

    records = [r for r in caplog.records if r.name == "strata.access"]
    assert len(records) == 1
    formatted = logging.getLogger().handlers[0].format(records[0])
    line = json.loads(formatted)
    assert line["route"] == "/api/v1/auth/login"
    assert line["method"] == "POST"
    assert line["status"] == 200
    assert line["latency_ms"] >= 0
    assert len(line["request_id"]) == 32
    assert ADMIN_PASSWORD not in formatted
    assert ADMIN_EMAIL not in formatted


async def test_an_unexpected_error_is_a_500_problem_without_internals(database_url: str) -> None:
    app = create_app(make_settings(database_url))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("SELECT secret FROM vault")

    async with LifespanManager(app) as manager:
        transport = ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://strata.test") as client:
            response = await client.get("/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
    assert body["instance"] == "/boom"


async def test_cors_allows_configured_origins_only(database_url: str) -> None:
    settings = make_settings(database_url, cors_origins="https://shop.example.com")
    async with running_client(settings) as client:
        allowed = await client.options(
            PRODUCTS,
            headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
        )
        denied = await client.get(PRODUCTS, headers={"Origin": "https://evil.example.com"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in denied.headers


async def test_a_wildcard_origin_never_comes_with_credentials(database_url: str) -> None:
    settings = make_settings(database_url, cors_origins="*")
    async with running_client(settings) as client:
        response = await client.get(PRODUCTS, headers={"Origin": "https://any.example.com"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


async def test_openapi_documents_the_problem_responses(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    patch = schema["paths"]["/api/v1/products/{product_id}"]["patch"]
    assert {"401", "403", "404", "412", "422"} <= set(patch["responses"])
    assert "application/problem+json" in patch["responses"]["412"]["content"]
    assert (await client.get("/docs")).status_code == 200
