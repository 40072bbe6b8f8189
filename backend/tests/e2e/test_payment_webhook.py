"""Stripe's webhook through the HTTP API: signed events move payments, at most once, forward only."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import pytest
import pytest_asyncio
from httpx import AsyncClient

from tests.e2e.conftest import Headers
from tests.e2e.payments_helpers import (
    INTENTS,
    WEBHOOK,
    account,
    audit,
    create_intent,
    deliver,
    event_body,
    payment_of,
    payments_client,
    provider_intent_of,
    sign,
    webhook_outcome,
)
from tests.e2e.test_product import assert_problem
from tests.stripe_fake import StripeFake


@pytest_asyncio.fixture
async def paid(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh payment of Alice's (as the API answered it) and its intent at the stand-in."""
    created = await create_intent(pay_client, alice, amount_cents=1500, metadata={"order": "7"})
    return created, provider_intent_of(stripe_fake, created["id"])


FAILURE = {
    "code": "card_declined",
    "decline_code": "insufficient_funds",
    "message": "Your card has insufficient funds.",
    "type": "card_error",
}


def event_id_of(payload: str) -> str:
    return str(json.loads(payload)["id"])


# ------------------------------------------------------------------ applied


async def test_a_signed_event_changes_the_payments_status(
    database_url: str,
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")

    response = await deliver(pay_client, payload)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "succeeded"
    assert stored["version"] == 2
    read = await pay_client.get(f"{INTENTS}/{created['id']}", headers=alice)
    assert read.json() == {**created, "status": "succeeded"}
    [event] = await audit(pay_client, "payment.succeeded")
    assert event["target_id"] == created["id"]
    assert event["actor_id"] is None
    assert await webhook_outcome(database_url, event_id_of(payload)) == "applied"


async def test_the_webhook_is_public(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.processing", status="processing")

    response = await pay_client.post(
        WEBHOOK,
        content=payload.encode(),
        headers={
            "Stripe-Signature": sign(payload),
            "Content-Type": "application/json",
            "Authorization": "Bearer not-a-token",
        },
    )

    assert response.status_code == 200, response.text
    assert (await payment_of(pay_client, alice, created["id"]))["status"] == "processing"


async def test_a_payment_failed_event_records_the_failure_code(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    now = int(time.time())
    processing = event_body(intent, "payment_intent.processing", status="processing", created=now)
    failed = event_body(
        intent,
        "payment_intent.payment_failed",
        status="requires_payment_method",
        last_payment_error=FAILURE,
        created=now + 1,
    )

    assert (await deliver(pay_client, processing)).status_code == 200
    response = await deliver(pay_client, failed)

    assert response.status_code == 200, response.text
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "requires_payment_method"
    assert stored["failure_code"] == "insufficient_funds"
    assert stored["version"] == 3
    [event] = await audit(pay_client, "payment.failed")
    assert event["target_id"] == created["id"]
    assert event["details"]["failure_code"] == "insufficient_funds"


# ------------------------------------------------------------------ signatures


async def test_refuses_a_tampered_body(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")
    signature = sign(payload)
    tampered = payload.replace('"amount": 1500', '"amount": 1501')
    assert tampered != payload

    response = await deliver(pay_client, tampered, signature)

    assert_problem(response, 400, "webhook.invalid_signature")
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "requires_payment_method"
    assert stored["version"] == 1


@pytest.mark.parametrize(
    "signature",
    [
        "wrong-secret",
        "missing",
        "empty",
        "no-timestamp",
        "garbage",
        "v0-only",
    ],
)
async def test_refuses_a_bad_or_missing_signature(
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
    signature: str,
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")
    good = sign(payload)
    headers = {"Content-Type": "application/json"}
    if signature == "wrong-secret":
        headers["Stripe-Signature"] = sign(payload, "whsec_someone_else")
    elif signature == "empty":
        headers["Stripe-Signature"] = ""
    elif signature == "no-timestamp":
        headers["Stripe-Signature"] = ",".join(p for p in good.split(",") if p.startswith("v1="))
    elif signature == "garbage":
        headers["Stripe-Signature"] = "t=abc,v1=zzz"
    elif signature == "v0-only":
        headers["Stripe-Signature"] = good.replace("v1=", "v0=")

    response = await pay_client.post(WEBHOOK, content=payload.encode(), headers=headers)

    assert_problem(response, 400, "webhook.invalid_signature")
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "requires_payment_method"
    assert stored["version"] == 1
    assert await audit(pay_client, "payment.succeeded") == []


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86_400])
async def test_refuses_a_timestamp_outside_the_tolerance(
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
    offset: int,
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")

    # Whole seconds rounded away from now, so the offset is never less than it says.
    now = math.floor(time.time()) if offset < 0 else math.ceil(time.time())
    response = await deliver(pay_client, payload, sign(payload, timestamp=now + offset))

    assert_problem(response, 400, "webhook.invalid_signature")
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "requires_payment_method"
    assert stored["version"] == 1


async def test_refuses_an_old_event_replayed_behind_a_fresh_timestamp(
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")
    now = int(time.time())
    captured = sign(payload, timestamp=now - 86_400)  # an event and its signature, a day old
    old_t, old_v1 = captured.split(",")

    response = await deliver(pay_client, payload, f"x=1, t={now},{old_t},{old_v1}")

    assert_problem(response, 400, "webhook.invalid_signature")
    stored = await payment_of(pay_client, alice, created["id"])
    assert (stored["status"], stored["version"]) == ("requires_payment_method", 1)


@pytest.mark.parametrize("valid_first", [True, False])
async def test_refuses_two_signature_header_lines(
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
    valid_first: bool,
) -> None:
    # Which of two lines Stripe wrote is not ours to guess (a proxy might keep either one).
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")
    lines = [sign(payload), sign(payload, timestamp=int(time.time()) - 86_400)]
    if not valid_first:
        lines.reverse()
    headers = [("Content-Type", "application/json")]
    headers += [("Stripe-Signature", line) for line in lines]

    response = await pay_client.post(WEBHOOK, content=payload.encode(), headers=headers)

    assert_problem(response, 400, "webhook.invalid_signature")
    stored = await payment_of(pay_client, alice, created["id"])
    assert (stored["status"], stored["version"]) == ("requires_payment_method", 1)


@pytest.mark.parametrize("offset", [-299, 299])
async def test_accepts_a_timestamp_inside_the_tolerance(
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
    offset: int,
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")

    # Whole seconds rounded towards now: the app's clock has fractions, Stripe's header not.
    now = math.ceil(time.time()) if offset < 0 else math.floor(time.time())
    response = await deliver(pay_client, payload, sign(payload, timestamp=now + offset))

    assert response.status_code == 200, response.text
    assert (await payment_of(pay_client, alice, created["id"]))["status"] == "succeeded"


async def test_accepts_both_secrets_while_one_is_rotated(
    database_url: str, stripe_fake: StripeFake
) -> None:
    async with payments_client(
        database_url, stripe_fake, stripe_webhook_secret="whsec_old,whsec_new"
    ) as client:
        alice = await account(client, "alice@example.com")
        first = await create_intent(client, alice, amount_cents=1000)
        second = await create_intent(client, alice, amount_cents=2000)
        old = event_body(
            provider_intent_of(stripe_fake, first["id"]),
            "payment_intent.succeeded",
            status="succeeded",
        )
        new = event_body(
            provider_intent_of(stripe_fake, second["id"]),
            "payment_intent.succeeded",
            status="succeeded",
        )
        by_old = await deliver(client, old, secret="whsec_old")
        by_new = await deliver(client, new, secret="whsec_new")
        by_other = await deliver(client, old, secret="whsec_test_secret")
        statuses = [(await payment_of(client, alice, p["id"]))["status"] for p in (first, second)]

    assert by_old.status_code == 200, by_old.text
    assert by_new.status_code == 200, by_new.text
    assert_problem(by_other, 400, "webhook.invalid_signature")
    assert statuses == ["succeeded", "succeeded"]


async def test_returns_503_naming_the_setting_without_a_webhook_secret(
    database_url: str, stripe_fake: StripeFake
) -> None:
    async with payments_client(database_url, stripe_fake, stripe_webhook_secret=None) as client:
        alice = await account(client, "alice@example.com")
        created = await create_intent(client, alice, amount_cents=1000)
        payload = event_body(
            provider_intent_of(stripe_fake, created["id"]),
            "payment_intent.succeeded",
            status="succeeded",
        )
        response = await deliver(client, payload)
        stored = await payment_of(client, alice, created["id"])

    body = assert_problem(response, 503, "payment.not_configured")
    assert body["setting"] == "STRIPE_WEBHOOK_SECRET"
    assert "retry-after" in response.headers
    assert stored["status"] == "requires_payment_method"


# ------------------------------------------------------------------ at most once


async def test_a_sequential_duplicate_has_no_second_effect(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded")

    first = await deliver(pay_client, payload)
    again = await deliver(pay_client, payload)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json() == {"received": True}
    assert len(await audit(pay_client, "payment.succeeded")) == 1
    assert (await payment_of(pay_client, alice, created["id"]))["version"] == 2


async def test_a_duplicate_failure_is_not_applied_twice(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    payload = event_body(
        intent,
        "payment_intent.payment_failed",
        status="requires_payment_method",
        last_payment_error=FAILURE,
    )

    responses = [await deliver(pay_client, payload) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len(await audit(pay_client, "payment.failed")) == 1
    assert (await payment_of(pay_client, alice, created["id"]))["version"] == 2


async def test_ten_concurrent_duplicates_have_one_effect(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    failed = event_body(
        intent,
        "payment_intent.payment_failed",
        status="requires_payment_method",
        last_payment_error=FAILURE,
    )
    succeeded = event_body(intent, "payment_intent.succeeded", status="succeeded")

    failures = await asyncio.gather(*(deliver(pay_client, failed) for _ in range(10)))
    after_failures = await payment_of(pay_client, alice, created["id"])
    successes = await asyncio.gather(*(deliver(pay_client, succeeded) for _ in range(10)))

    assert [r.status_code for r in failures] == [200] * 10, [r.text for r in failures]
    assert [r.status_code for r in successes] == [200] * 10, [r.text for r in successes]
    assert after_failures["version"] == 2
    assert after_failures["failure_code"] == "insufficient_funds"
    assert len(await audit(pay_client, "payment.failed")) == 1
    assert len(await audit(pay_client, "payment.succeeded")) == 1
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "succeeded"
    assert stored["version"] == 3


# ------------------------------------------------------------------ order and mismatches


async def test_a_later_delivered_older_event_does_not_move_a_payment_back(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    now = int(time.time())
    succeeded = event_body(intent, "payment_intent.succeeded", status="succeeded", created=now + 2)
    processing = event_body(
        intent, "payment_intent.processing", status="processing", created=now + 1
    )

    assert (await deliver(pay_client, succeeded)).status_code == 200
    late = await deliver(pay_client, processing)

    assert late.status_code == 200, late.text
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "succeeded"
    assert stored["version"] == 2
    assert await audit(pay_client, "payment.processing") == []


async def test_an_older_event_after_a_failure_leaves_the_failure(
    pay_client: AsyncClient, alice: Headers, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    created, intent = paid
    now = int(time.time())
    failed = event_body(
        intent,
        "payment_intent.payment_failed",
        status="requires_payment_method",
        last_payment_error=FAILURE,
        created=now + 2,
    )
    processing = event_body(
        intent, "payment_intent.processing", status="processing", created=now + 1
    )

    assert (await deliver(pay_client, failed)).status_code == 200
    assert (await deliver(pay_client, processing)).status_code == 200

    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "requires_payment_method"
    assert stored["failure_code"] == "insufficient_funds"
    assert stored["version"] == 2


@pytest.mark.parametrize("changes", [{"amount": 999}, {"currency": "eur"}])
async def test_an_event_for_another_amount_is_recorded_and_not_applied(
    database_url: str,
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
    changes: dict[str, Any],
) -> None:
    created, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded", **changes)
    # The same event id again, now with the right amount: the first delivery's outcome stands.
    corrected = payload.replace(
        json.dumps(changes)[1:-1], json.dumps({k: intent[k] for k in changes})[1:-1]
    )
    assert corrected != payload

    response = await deliver(pay_client, payload)
    outcome = await webhook_outcome(database_url, event_id_of(payload))
    redelivered = await deliver(pay_client, corrected)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    assert outcome == "amount_mismatch"
    assert redelivered.status_code == 200
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "requires_payment_method"
    assert stored["version"] == 1
    assert await audit(pay_client, "payment.succeeded") == []


async def test_an_event_for_an_unknown_payment_is_acknowledged(
    database_url: str, pay_client: AsyncClient, paid: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, intent = paid
    payload = event_body(intent, "payment_intent.succeeded", status="succeeded", id="pi_unknown")

    response = await deliver(pay_client, payload)

    assert response.status_code == 200, response.text
    assert await webhook_outcome(database_url, event_id_of(payload)) == "unknown_payment"


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        ("charge.refunded", {"id": "ch_1", "object": "charge", "amount": 1500}),
        ("customer.created", {"id": "cus_1", "object": "customer"}),
        ("payment_intent.created", None),
        ("payment_intent.amount_capturable_updated", None),
    ],
)
async def test_an_unknown_event_type_is_acknowledged_and_ignored(
    database_url: str,
    pay_client: AsyncClient,
    alice: Headers,
    paid: tuple[dict[str, Any], dict[str, Any]],
    event_type: str,
    obj: dict[str, Any] | None,
) -> None:
    created, intent = paid
    payload = json.dumps(
        {
            "id": f"evt_ignored_{time.time_ns()}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj if obj is not None else {**intent, "status": "succeeded"}},
        }
    )

    response = await deliver(pay_client, payload)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    assert await webhook_outcome(database_url, event_id_of(payload)) == "ignored_type"
    stored = await payment_of(pay_client, alice, created["id"])
    assert stored["status"] == "requires_payment_method"
    assert stored["version"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        "not json at all",
        "{",
        "[]",
        '"a string"',
        "{}",
        '{"id": "evt_1", "type": "payment_intent.succeeded"}',
        '{"id": "evt_1", "type": "payment_intent.succeeded", "created": "yesterday"}',
        '{"id": "evt_1", "type": "payment_intent.succeeded", "created": 1, "data": {}}',
        '{"id": "evt_1", "type": "payment_intent.succeeded", "created": 1,'
        ' "data": {"object": {"object": "payment_intent", "id": "pi_1"}}}',
    ],
)
async def test_a_signed_body_that_is_not_an_event_is_400(
    pay_client: AsyncClient, payload: str
) -> None:
    response = await deliver(pay_client, payload)

    assert_problem(response, 400, "webhook.malformed")
