"""Shared pieces of the payments e2e tests: an app wired to the Stripe stand-in, accounts,
intents, and webhook events signed the way Stripe signs them."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import stripe
from httpx import AsyncClient, Response

from app.domain.entities.payment import Payment
from app.infrastructure.database.engine import Database
from tests.conftest import empty_all_tables
from tests.databases import sql_unit_of_work
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    Headers,
    login,
    make_settings,
    running_client,
)
from tests.stripe_fake import StripeFake

INTENTS = "/api/v1/payments/intents"
PAYMENTS = "/api/v1/payments"
WEBHOOK = "/api/v1/payments/webhook"
AUDIT = "/api/v1/admin/audit"
WEBHOOK_SECRET = "whsec_test_secret"
MISSING = "01900000-0000-7000-8000-000000000000"


def payment_settings(database_url: str, stripe_fake: StripeFake, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "stripe_secret_key": stripe_fake.api_key,
        "stripe_api_base": stripe_fake.url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_retry_base_delay_seconds": 0.01,
        "stripe_retry_max_delay_seconds": 0.05,
        **overrides,
    }
    return make_settings(database_url, **values)


@asynccontextmanager
async def payments_client(
    database_url: str, stripe_fake: StripeFake, **overrides: Any
) -> AsyncIterator[AsyncClient]:
    """The real app with Stripe pointed at the stand-in; its rows are deleted afterwards."""
    try:
        async with running_client(
            payment_settings(database_url, stripe_fake, **overrides)
        ) as client:
            yield client
    finally:
        await empty_all_tables(database_url)


async def account(client: AsyncClient, email: str) -> Headers:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": USER_PASSWORD}
    )
    assert response.status_code == 201, response.text
    return await login(client, email, USER_PASSWORD)


async def admin(client: AsyncClient) -> Headers:
    return await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)


async def create_intent(
    client: AsyncClient, headers: Headers, key: str | None = None, **body: Any
) -> dict[str, Any]:
    if "product_id" not in body:
        body.setdefault("amount_cents", 1000)
    response = await post_intent(client, headers, key, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def post_intent(
    client: AsyncClient, headers: Headers, key: str | None = None, **body: Any
) -> Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return await client.post(INTENTS, json=body, headers={**headers, **extra})


async def payments_of(client: AsyncClient, headers: Headers) -> list[dict[str, Any]]:
    response = await client.get(PAYMENTS, params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def payment_of(client: AsyncClient, headers: Headers, payment_id: str) -> dict[str, Any]:
    matching = [p for p in await payments_of(client, headers) if p["id"] == payment_id]
    assert len(matching) == 1, matching
    return matching[0]


async def audit(client: AsyncClient, action: str) -> list[dict[str, Any]]:
    response = await client.get(
        AUDIT, params={"action": action, "limit": 100}, headers=await admin(client)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def provider_intent_of(stripe_fake: StripeFake, payment_id: str) -> dict[str, Any]:
    """The stand-in's intent for our payment (our id travels in its metadata)."""
    matching = [
        intent
        for intent in stripe_fake.intents.values()
        if intent["metadata"].get("strata_payment_id") == payment_id
    ]
    assert len(matching) == 1, matching
    return matching[0]


_event_ids = itertools.count(1)


def event_body(
    intent: dict[str, Any],
    event_type: str,
    *,
    status: str | None = None,
    created: int | None = None,
    event_id: str | None = None,
    **intent_changes: Any,
) -> str:
    """A Stripe event around the intent, as JSON (the exact bytes that get signed)."""
    obj = {**intent, **intent_changes}
    if status is not None:
        obj["status"] = status
    event = {
        "id": event_id or f"evt_test_{next(_event_ids):06d}_{time.time_ns()}",
        "object": "event",
        "api_version": "2024-06-20",
        "type": event_type,
        "created": created if created is not None else int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    return json.dumps(event)


def sign(payload: str, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> str:
    return str(
        stripe.WebhookSignature.generate_signature_header(
            payload, secret, timestamp=timestamp if timestamp is not None else int(time.time())
        )
    )


async def deliver(
    client: AsyncClient,
    payload: str | bytes,
    signature: str | None = None,
    *,
    secret: str = WEBHOOK_SECRET,
) -> Response:
    """POST the payload as Stripe would; signed with `secret` unless a signature is given."""
    if signature is None:
        text = payload.decode() if isinstance(payload, bytes) else payload
        signature = sign(text, secret)
    return await client.post(
        WEBHOOK,
        content=payload.encode() if isinstance(payload, str) else payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


async def stored_payment(database_url: str, payment_id: str) -> Payment | None:
    """The payment row as the app's own repository reads it."""
    database = Database(database_url)
    try:
        async with sql_unit_of_work(database.read_engine) as uow:
            return await uow.payments.get(UUID(payment_id))
    finally:
        await database.dispose()


async def webhook_outcome(database_url: str, event_id: str) -> str | None:
    database = Database(database_url)
    try:
        async with sql_unit_of_work(database.read_engine) as uow:
            event = await uow.webhook_events.get(event_id)
    finally:
        await database.dispose()
    assert event is not None, f"no inbox row for {event_id}"
    return event.outcome
