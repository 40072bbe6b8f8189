"""Payments in the caller's data export and through account erasure (GDPR)."""

from __future__ import annotations

import json

from httpx import AsyncClient

from tests.e2e.conftest import USER_PASSWORD, Headers
from tests.e2e.payments_helpers import (
    account,
    audit,
    create_intent,
    deliver,
    event_body,
    provider_intent_of,
    stored_payment,
)
from tests.e2e.test_product import assert_problem
from tests.stripe_fake import StripeFake

EXPORT = "/api/v1/users/me/export"
ME = "/api/v1/users/me"


async def test_the_export_lists_the_callers_payments_without_their_client_secrets(
    pay_client: AsyncClient, alice: Headers
) -> None:
    bob = await account(pay_client, "bob@example.com")
    mine = [
        await create_intent(pay_client, alice, amount_cents=1000, metadata={"order": "1"}),
        await create_intent(pay_client, alice, "k-2", amount_cents=2500, currency="EUR"),
    ]
    theirs = await create_intent(pay_client, bob, amount_cents=3000)

    response = await pay_client.get(EXPORT, headers=alice)

    assert response.status_code == 200, response.text
    payments = response.json()["payments"]
    assert [p["id"] for p in payments] == [p["id"] for p in mine]
    assert [(p["amount_cents"], p["currency"]) for p in payments] == [(1000, "USD"), (2500, "EUR")]
    assert payments[0]["metadata"] == {"order": "1"}
    assert all("client_secret" not in p and "sealed_client_secret" not in p for p in payments)
    for created in (*mine, theirs):
        assert created["client_secret"] not in response.text
    assert "secret" not in json.dumps(payments)
    assert theirs["id"] not in response.text


async def test_erasure_keeps_the_payment_anonymised_with_its_audit_trail(
    database_url: str, pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    created = await create_intent(
        pay_client, alice, "order-1", amount_cents=1000, metadata={"name": "Alice A."}
    )
    intent = provider_intent_of(stripe_fake, created["id"])
    creation = [
        e for e in await audit(pay_client, "payment.create") if e["target_id"] == created["id"]
    ]
    assert len(creation) == 1
    assert creation[0]["actor_id"] is not None

    erased = await pay_client.request("DELETE", ME, json={"password": USER_PASSWORD}, headers=alice)
    stored = await stored_payment(database_url, created["id"])
    after_erasure = await delivered_after_erasure(pay_client, intent)
    trail = [
        e for e in await audit(pay_client, "payment.create") if e["target_id"] == created["id"]
    ]
    succeeded = await audit(pay_client, "payment.succeeded")
    final = await stored_payment(database_url, created["id"])

    assert erased.status_code == 204, erased.text
    assert stored is not None
    assert stored.user_id is None
    assert stored.metadata == {}
    assert stored.sealed_client_secret is None
    assert (stored.amount_cents, stored.currency) == (1000, "USD")
    assert stored.provider_id == intent["id"]
    assert len(trail) == 1
    assert trail[0]["actor_id"] is None
    assert trail[0]["ip"] is None
    assert trail[0]["details"] == {"amount_cents": "1000", "currency": "USD"}
    assert after_erasure == 200
    assert [e["target_id"] for e in succeeded] == [created["id"]]
    assert final is not None
    assert final.status == "succeeded"
    assert final.user_id is None
    # The erased account's token is dead; nothing of its payments can be read through it.
    assert_problem(await pay_client.get(EXPORT, headers=alice), 401, "auth.invalid_token")


async def delivered_after_erasure(client: AsyncClient, intent: dict[str, object]) -> int:
    """A webhook for the erased user's payment still applies to the anonymised row."""
    response = await deliver(
        client, event_body(dict(intent), "payment_intent.succeeded", status="succeeded")
    )
    return response.status_code


async def test_erasure_frees_the_idempotency_keys_and_leaves_others_payments(
    database_url: str, pay_client: AsyncClient, alice: Headers
) -> None:
    bob = await account(pay_client, "bob@example.com")
    mine = await create_intent(pay_client, alice, "shared", amount_cents=1000)
    theirs = await create_intent(pay_client, bob, "shared", amount_cents=1000)

    erased = await pay_client.request("DELETE", ME, json={"password": USER_PASSWORD}, headers=alice)
    replay = await pay_client.post(
        "/api/v1/payments/intents",
        json={"amount_cents": 1000},
        headers={**bob, "Idempotency-Key": "shared"},
    )
    kept = await stored_payment(database_url, theirs["id"])
    anonymised = await stored_payment(database_url, mine["id"])

    assert erased.status_code == 204, erased.text
    assert replay.status_code == 201
    assert replay.json() == theirs
    assert kept is not None
    assert kept.user_id is not None
    assert kept.metadata == theirs["metadata"]
    assert anonymised is not None
    assert anonymised.user_id is None


async def test_erasure_with_a_wrong_password_keeps_the_payments(
    database_url: str, pay_client: AsyncClient, alice: Headers
) -> None:
    created = await create_intent(pay_client, alice, amount_cents=1000, metadata={"k": "v"})

    refused = await pay_client.request(
        "DELETE", ME, json={"password": "not the password at all"}, headers=alice
    )
    stored = await stored_payment(database_url, created["id"])

    assert_problem(refused, 403, "auth.wrong_password")
    assert stored is not None
    assert stored.user_id is not None
    assert stored.metadata == {"k": "v"}
