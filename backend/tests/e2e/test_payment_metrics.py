"""The Stripe circuit breaker's state is visible in /metrics, as it changes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from httpx import AsyncClient

from tests.conftest import empty_all_tables
from tests.e2e.conftest import USER_PASSWORD, login, make_settings, running_client
from tests.stripe_fake import StripeFake

OPEN = 'circuit_breaker_state{dependency="stripe",state="open"} 1.0'
CLOSED = 'circuit_breaker_state{dependency="stripe",state="closed"} 1.0'


@pytest_asyncio.fixture
async def breaker_client(database_url: str, stripe_fake: StripeFake) -> AsyncIterator[AsyncClient]:
    settings = make_settings(
        database_url,
        stripe_secret_key=stripe_fake.api_key,
        stripe_api_base=stripe_fake.url,
        stripe_max_retries=0,
        stripe_breaker_failure_threshold=2,
        stripe_breaker_cooldown_seconds=60,
    )
    async with running_client(settings) as client:
        yield client
    await empty_all_tables(database_url)


async def test_metrics_show_the_circuit_opening_after_consecutive_failures(
    breaker_client: AsyncClient, stripe_fake: StripeFake
) -> None:
    email = "metrics@example.com"
    registered = await breaker_client.post(
        "/api/v1/auth/register", json={"email": email, "password": USER_PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    headers = await login(breaker_client, email, USER_PASSWORD)
    assert CLOSED in (await breaker_client.get("/metrics")).text

    stripe_fake.fail_next(2, status=503)
    for _ in range(2):
        failed = await breaker_client.post(
            "/api/v1/payments/intents", json={"amount_cents": 500}, headers=headers
        )
        assert failed.status_code == 502, failed.text

    assert OPEN in (await breaker_client.get("/metrics")).text


async def test_metrics_have_no_breaker_while_payments_are_not_configured(
    client: AsyncClient,
) -> None:
    assert "circuit_breaker_state" not in (await client.get("/metrics")).text
