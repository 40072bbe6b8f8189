from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest_asyncio
import stripe
from httpx import AsyncClient

from tests.conftest import empty_all_tables
from tests.e2e.conftest import Headers, login, make_settings, running_client
from tests.stripe_fake import StripeFake

WEBHOOK_SECRET = "whsec_test_secret"


@pytest_asyncio.fixture
async def pay_client(database_url: str, stripe_fake: StripeFake) -> AsyncIterator[AsyncClient]:
    settings = make_settings(
        database_url,
        stripe_secret_key=stripe_fake.api_key,
        stripe_api_base=stripe_fake.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_retry_base_delay_seconds=0.01,
    )
    async with running_client(settings) as client:
        yield client
    await empty_all_tables(database_url)


async def test_smoke(pay_client: AsyncClient, stripe_fake: StripeFake) -> None:
    r = await pay_client.post(
        "/api/v1/auth/register",
        json={"email": "p@example.com", "password": "a long and unguessable passphrase"},
    )
    assert r.status_code == 201, r.text
    headers: Headers = await login(pay_client, "p@example.com", "a long and unguessable passphrase")
    r = await pay_client.post(
        "/api/v1/payments/intents",
        json={"amount_cents": 1000, "metadata": {"order": "42"}},
        headers={**headers, "Idempotency-Key": "k1"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    r2 = await pay_client.post(
        "/api/v1/payments/intents",
        json={"amount_cents": 1000, "metadata": {"order": "42"}},
        headers={**headers, "Idempotency-Key": "k1"},
    )
    assert r2.status_code == 201 and r2.json() == body
    assert len(stripe_fake.creates()) == 1
    provider_id = next(iter(stripe_fake.intents))
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {**stripe_fake.intents[provider_id], "status": "succeeded"}},
    }
    payload = json.dumps(event)
    sig = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    r = await pay_client.post(
        "/api/v1/payments/webhook",
        content=payload,
        headers={"Stripe-Signature": sig, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    r = await pay_client.get(f"/api/v1/payments/intents/{body['id']}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "succeeded"
    r = await pay_client.get("/api/v1/payments", headers=headers)
    assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text
    r = await pay_client.get(
        "/api/v1/admin/audit",
        headers=await login(pay_client, "admin@example.com", "correct horse battery staple"),
    )
    assert any(e["action"] == "payment.succeeded" for e in r.json()["items"]), r.text
