from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from app.presentation.main import create_app
from tests.e2e.conftest import make_settings, running_client
from tests.e2e.test_product import assert_problem

METRICS_TOKEN = "scrape-token-0123456789abcdef"


async def test_live_answers_200(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_answers_200_when_the_database_and_the_job_engine_answer(
    client: AsyncClient,
) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "jobs": "ok", "vector_index": "exact"}


async def test_ready_names_redis_and_the_job_engine_when_they_are_configured(
    database_url: str,
) -> None:
    settings = make_settings(database_url, redis_url=os.environ["TEST_REDIS_URL"])
    async with running_client(settings) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "ok",
        "jobs": "ok",
        "vector_index": "exact",
    }


async def test_ready_answers_503_naming_redis_and_the_job_engine_when_redis_is_down(
    database_url: str,
) -> None:
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0")
    async with running_client(settings) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert [error["field"] for error in body["errors"]] == ["redis", "jobs"]


async def test_a_database_that_does_not_answer_is_a_503_not_a_500() -> None:
    settings = make_settings(
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        first_admin_email=None,
        first_admin_password=None,
        database_timeout_seconds=2,
    )
    async with running_client(settings) as client:
        read = await client.get("/api/v1/products/01900000-0000-7000-8000-000000000000")
        ready = await client.get("/health/ready")
    assert read.status_code == 503
    assert read.headers["retry-after"] == "5"
    assert read.json()["code"] == "service_unavailable"
    assert "127.0.0.1" not in read.text
    assert ready.status_code == 503
    # The vector index is read from the database: unknown until it answers.
    assert [error["field"] for error in ready.json()["errors"]] == ["database", "vector_index"]


# ------------------------------------------------------------------ /metrics: who may read it


@asynccontextmanager
async def client_at(database_url: str, address: str, **settings: Any) -> AsyncIterator[AsyncClient]:
    """A client whose TCP peer is `address` (the ASGI scope's client), on an app so configured."""
    app = create_app(make_settings(database_url, **settings))
    async with LifespanManager(app) as manager:
        transport = ASGITransport(app=manager.app, client=(address, 40_123))
        async with AsyncClient(transport=transport, base_url="http://strata.test") as client:
            yield client


def assert_metrics(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert "http_requests_total" in response.text


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
async def test_without_a_token_a_loopback_client_reads_the_metrics(
    database_url: str, address: str
) -> None:
    async with client_at(database_url, address) as client:
        assert_metrics(await client.get("/metrics"))


@pytest.mark.parametrize("address", ["203.0.113.7", "10.0.0.5", "2001:db8::1", "::ffff:192.0.2.1"])
async def test_without_a_token_any_other_client_gets_403(database_url: str, address: str) -> None:
    async with client_at(database_url, address) as client:
        response = await client.get("/metrics")
        with_a_bearer = await client.get("/metrics", headers={"Authorization": "Bearer anything"})

    assert_problem(response, 403, "auth.forbidden")
    assert_problem(with_a_bearer, 403, "auth.forbidden")
    assert "http_requests_total" not in response.text


async def test_without_a_token_a_remote_client_cannot_claim_loopback(database_url: str) -> None:
    spoofed = {"X-Forwarded-For": "127.0.0.1"}
    async with client_at(database_url, "203.0.113.7") as client:
        assert_problem(await client.get("/metrics", headers=spoofed), 403, "auth.forbidden")
    # Trusted proxies are believed, hop by hop: only what they say they received counts.
    async with client_at(database_url, "10.0.0.2", trusted_proxies="10.0.0.0/8") as client:
        through_proxy = await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        chained = await client.get(
            "/metrics", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.7"}
        )
    assert_metrics(through_proxy)
    assert_problem(chained, 403, "auth.forbidden")


async def test_behind_a_local_reverse_proxy_the_client_it_names_is_not_loopback(
    database_url: str,
) -> None:
    # nginx on the same machine: the TCP peer is 127.0.0.1, the client is whoever nginx names.
    async with client_at(database_url, "127.0.0.1", trusted_proxies="127.0.0.1") as client:
        remote = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"})
        local = await client.get("/metrics")

    assert_problem(remote, 403, "auth.forbidden")
    assert_metrics(local)


@pytest.mark.parametrize("address", ["127.0.0.1", "203.0.113.7"])
async def test_with_a_token_every_client_must_send_it(database_url: str, address: str) -> None:
    async with client_at(database_url, address, metrics_token=METRICS_TOKEN) as client:
        granted = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        lower_case = await client.get(
            "/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"}
        )
        missing = await client.get("/metrics")

    assert_metrics(granted)
    assert_metrics(lower_case)  # the scheme is case-insensitive (RFC 9110 §11.1)
    assert_problem(missing, 401, "auth.unauthenticated")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "http_requests_total" not in missing.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        f"Bearer {METRICS_TOKEN}x",
        f"Bearer {METRICS_TOKEN[:-1]}",
        f"Basic {METRICS_TOKEN}",
        f"Token {METRICS_TOKEN}",
        METRICS_TOKEN,
        "Bearer",
        "Bearer ",
        f"Bearer  {METRICS_TOKEN} extra",
        f"Bearer {METRICS_TOKEN.upper()}",
        "Bearer \u00e9t\u00e9-token",
    ],
)
async def test_with_a_token_a_wrong_or_malformed_one_is_401(
    database_url: str, authorization: str
) -> None:
    async with client_at(database_url, "127.0.0.1", metrics_token=METRICS_TOKEN) as client:
        response = await client.get(
            "/metrics", headers={b"Authorization": authorization.encode("utf-8")}
        )

    assert_problem(response, 401, "auth.invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"
    assert METRICS_TOKEN not in response.text


async def test_a_blank_token_setting_means_no_token(database_url: str) -> None:
    async with client_at(database_url, "127.0.0.1", metrics_token="") as client:
        assert_metrics(await client.get("/metrics"))
    async with client_at(database_url, "203.0.113.7", metrics_token="") as client:
        assert_problem(await client.get("/metrics"), 403, "auth.forbidden")
