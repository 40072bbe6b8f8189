"""Payment intents and the caller's payments through the HTTP API, against the Stripe stand-in
(the webhook: test_payment_webhook; export and erasure: test_payment_privacy)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import empty_all_tables
from tests.e2e.conftest import Headers, create_product_via_api, make_settings, running_client
from tests.e2e.payments_helpers import (
    INTENTS,
    MISSING,
    PAYMENTS,
    account,
    admin,
    create_intent,
    payments_client,
    payments_of,
    post_intent,
    provider_intent_of,
)
from tests.e2e.test_product import assert_problem
from tests.stripe_fake import StripeFake


async def wait_for(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------ create


async def test_creates_an_intent_with_201_location_and_the_providers_client_secret(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    response = await post_intent(
        pay_client, alice, amount_cents=1000, currency="usd", metadata={"order": "42"}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "status", "amount_cents", "currency", "client_secret", "metadata"}
    assert response.headers["location"] == f"{INTENTS}/{body['id']}"
    intent = provider_intent_of(stripe_fake, body["id"])
    assert body["status"] == "requires_payment_method"
    assert body["amount_cents"] == 1000
    assert body["currency"] == "USD"
    assert body["metadata"] == {"order": "42"}
    assert body["client_secret"] == intent["client_secret"]
    assert intent["amount"] == 1000
    assert intent["currency"] == "usd"
    assert intent["metadata"] == {"order": "42", "strata_payment_id": body["id"]}
    [create] = stripe_fake.creates()
    assert create.headers["idempotency-key"] == f"strata-payment-{body['id']}"
    assert [p["id"] for p in await payments_of(pay_client, alice)] == [body["id"]]


async def test_uses_the_default_currency_when_none_is_sent(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    body = await create_intent(pay_client, alice, amount_cents=50)

    assert body["currency"] == "USD"
    assert body["amount_cents"] == 50
    assert provider_intent_of(stripe_fake, body["id"])["currency"] == "usd"


async def test_returns_401_without_a_token(
    pay_client: AsyncClient, stripe_fake: StripeFake
) -> None:
    for response in (
        await pay_client.post(INTENTS, json={"amount_cents": 1000}),
        await pay_client.get(f"{INTENTS}/{MISSING}"),
        await pay_client.get(PAYMENTS),
    ):
        assert_problem(response, 401, "auth.unauthenticated")
    assert stripe_fake.requests == []


async def test_returns_503_naming_the_setting_when_stripe_is_not_configured(
    database_url: str,
) -> None:
    try:
        async with running_client(make_settings(database_url)) as client:
            headers = await account(client, "alice@example.com")
            created = await post_intent(client, headers, "k-1", amount_cents=1000)
            live = await client.get("/health/live")
            products = await client.get("/api/v1/products")
            listed = await client.get(PAYMENTS, headers=headers)
    finally:
        await empty_all_tables(database_url)

    body = assert_problem(created, 503, "payment.not_configured")
    assert body["setting"] == "STRIPE_SECRET_KEY"
    assert int(created.headers["retry-after"]) > 0
    assert live.status_code == 200
    assert products.status_code == 200
    assert listed.status_code == 200
    assert listed.json()["items"] == []


# ------------------------------------------------------------------ products


async def test_uses_the_products_price_and_currency(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    product = await create_product_via_api(
        pay_client, await admin(pay_client), price_cents=2500, currency="EUR"
    )

    only_product = await create_intent(pay_client, alice, product_id=product["id"])
    agreeing = await post_intent(
        pay_client, alice, product_id=product["id"], amount_cents=2500, currency="eur"
    )

    assert only_product["amount_cents"] == 2500
    assert only_product["currency"] == "EUR"
    assert agreeing.status_code == 201, agreeing.text
    intent = provider_intent_of(stripe_fake, only_product["id"])
    assert (intent["amount"], intent["currency"]) == (2500, "eur")
    [stored] = [p for p in await payments_of(pay_client, alice) if p["id"] == only_product["id"]]
    assert stored["product_id"] == product["id"]


async def test_refuses_an_amount_or_currency_that_disagrees_with_the_product(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    product = await create_product_via_api(
        pay_client, await admin(pay_client), price_cents=2500, currency="EUR"
    )

    cheaper = await post_intent(pay_client, alice, product_id=product["id"], amount_cents=100)
    dollars = await post_intent(pay_client, alice, product_id=product["id"], currency="USD")

    assert_problem(cheaper, 422, "payment.amount_mismatch")
    assert_problem(dollars, 422, "payment.amount_mismatch")
    assert stripe_fake.creates() == []
    assert await payments_of(pay_client, alice) == []


async def test_refuses_an_unknown_product_or_one_priced_outside_stripes_range(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    too_cheap = await create_product_via_api(
        pay_client, await admin(pay_client), price_cents=10, currency="USD"
    )

    unknown = await post_intent(pay_client, alice, product_id=MISSING)
    cheap = await post_intent(pay_client, alice, product_id=too_cheap["id"])

    assert assert_problem(unknown, 422, "validation_error")["errors"][0]["field"] == "product_id"
    assert_problem(cheap, 422, "validation_error")
    assert stripe_fake.creates() == []


# ------------------------------------------------------------------ validation

UGLY_BODIES: list[dict[str, Any]] = [
    {},
    {"amount_cents": 49},
    {"amount_cents": 100_000_000},
    {"amount_cents": -1000},
    {"amount_cents": "1000"},
    {"amount_cents": 10.5},  # (1000.0 is an integer, as JSON Schema says: it is accepted as 1000)
    {"amount_cents": True},
    {"amount_cents": None, "currency": "usd"},
    {"amount_cents": 1000, "currency": "US"},
    {"amount_cents": 1000, "currency": "USDX"},
    {"amount_cents": 1000, "currency": "XXQ"},
    {"amount_cents": 1000, "currency": 123},
    {"amount_cents": 1000, "currency": ""},
    {"amount_cents": 1000, "metadata": {f"k{i}": "v" for i in range(21)}},
    {"amount_cents": 1000, "metadata": {"k" * 41: "v"}},
    {"amount_cents": 1000, "metadata": {"k": "v" * 501}},
    {"amount_cents": 1000, "metadata": {"k": 1}},
    {"amount_cents": 1000, "metadata": {"k": None}},
    {"amount_cents": 1000, "metadata": {"k": ["v"]}},
    {"amount_cents": 1000, "metadata": {"k": {"nested": "v"}}},
    {"amount_cents": 1000, "metadata": {"": "v"}},
    {"amount_cents": 1000, "metadata": {"k[0]": "v"}},
    {"amount_cents": 1000, "metadata": ["k", "v"]},
    {"amount_cents": 1000, "metadata": {"strata_payment_id": "01900000-0000-7000-8000-0000"}},
    {"amount_cents": 1000, "product_id": "not-a-uuid"},
    {"amount_cents": 1000, "customer": "cus_123"},
    {"amount_cents": 1000, "status": "succeeded"},
]


@pytest.mark.parametrize("body", UGLY_BODIES)
async def test_refuses_ugly_input_with_422(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake, body: dict[str, Any]
) -> None:
    response = await pay_client.post(INTENTS, json=body, headers=alice)

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"]
    assert stripe_fake.creates() == []


async def test_accepts_input_at_the_edges_of_the_limits(
    pay_client: AsyncClient, alice: Headers
) -> None:
    metadata = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(20)}

    smallest = await create_intent(pay_client, alice, amount_cents=50, metadata=metadata)
    largest = await create_intent(pay_client, alice, amount_cents=99_999_999, currency="EUR")

    assert smallest["metadata"] == metadata
    assert largest["amount_cents"] == 99_999_999


async def test_returns_400_for_a_body_that_is_not_json(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    response = await pay_client.post(
        INTENTS,
        content=b'{"amount_cents": 1000,',
        headers={**alice, "Content-Type": "application/json"},
    )

    assert_problem(response, 400, "malformed_request")
    assert stripe_fake.creates() == []


# ------------------------------------------------------------------ idempotency


async def test_replays_the_first_response_for_the_same_key_and_body(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    body = {"amount_cents": 1000, "currency": "usd", "metadata": {"order": "42"}}

    first = await post_intent(pay_client, alice, "order-42", **body)
    # The same request, its fields in another order and its currency in another case.
    second = await post_intent(
        pay_client, alice, "order-42", metadata={"order": "42"}, currency="USD", amount_cents=1000
    )

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert len(stripe_fake.creates()) == 1
    assert len(await payments_of(pay_client, alice)) == 1


async def test_returns_422_for_the_same_key_with_another_body(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    await create_intent(pay_client, alice, "order-42", amount_cents=1000)

    reused = await post_intent(pay_client, alice, "order-42", amount_cents=2000)

    problem = assert_problem(reused, 422, "idempotency.key_reused")
    # The key is named as clients send it: by its header.
    assert [error["field"] for error in problem["errors"]] == ["Idempotency-Key"]
    assert len(stripe_fake.creates()) == 1
    assert len(await payments_of(pay_client, alice)) == 1


async def test_scopes_an_idempotency_key_to_its_user(
    pay_client: AsyncClient, alice: Headers, bob: Headers, stripe_fake: StripeFake
) -> None:
    for_alice = await create_intent(pay_client, alice, "shared-key", amount_cents=1000)
    for_bob = await create_intent(pay_client, bob, "shared-key", amount_cents=1000)

    assert for_alice["id"] != for_bob["id"]
    assert for_alice["client_secret"] != for_bob["client_secret"]
    assert len(stripe_fake.intents) == 2
    assert [p["id"] for p in await payments_of(pay_client, alice)] == [for_alice["id"]]
    assert [p["id"] for p in await payments_of(pay_client, bob)] == [for_bob["id"]]


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "with space", "tab\there", "ctrl\x01char", "del\x7fchar", "", "caf\u00e9"],
)
async def test_refuses_a_malformed_idempotency_key_with_422(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake, key: str
) -> None:
    response = await pay_client.post(
        INTENTS,
        json={"amount_cents": 1000},
        headers={**alice, "Idempotency-Key": key.encode("latin-1")},  # type: ignore[dict-item]
    )

    assert_problem(response, 422, "validation_error")
    assert stripe_fake.creates() == []


async def test_accepts_a_255_character_key(pay_client: AsyncClient, alice: Headers) -> None:
    key = "k" * 255

    first = await post_intent(pay_client, alice, key, amount_cents=1000)
    again = await post_intent(pay_client, alice, key, amount_cents=1000)

    assert first.status_code == 201, first.text
    assert again.json() == first.json()


async def test_returns_409_while_the_first_request_with_the_key_runs(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    stripe_fake.delay_next(1.0)
    first = asyncio.create_task(post_intent(pay_client, alice, "slow", amount_cents=1000))
    await wait_for(lambda: len(stripe_fake.creates()) == 1)

    during = await post_intent(pay_client, alice, "slow", amount_cents=1000)
    finished = await first
    after = await post_intent(pay_client, alice, "slow", amount_cents=1000)

    assert_problem(during, 409, "idempotency.in_progress")
    assert finished.status_code == 201, finished.text
    assert after.status_code == 201
    assert after.json() == finished.json()
    assert len(stripe_fake.creates()) == 1


async def test_ten_concurrent_requests_with_one_key_create_one_intent(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    stripe_fake.delay_next(0.2)

    responses = await asyncio.gather(
        *(post_intent(pay_client, alice, "burst", amount_cents=1000) for _ in range(10))
    )

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r.json() for r in responses if r.status_code == 201]
    assert created
    assert all(body == created[0] for body in created)
    for conflict in (r for r in responses if r.status_code == 409):
        assert_problem(conflict, 409, "idempotency.in_progress")
    assert len(stripe_fake.intents) == 1
    assert len(stripe_fake.creates()) == 1
    assert [p["id"] for p in await payments_of(pay_client, alice)] == [created[0]["id"]]


# ------------------------------------------------------------------ the provider failing


async def test_retries_a_5xx_from_stripe_and_creates_one_intent(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    stripe_fake.fail_next(1, status=500)

    body = await create_intent(pay_client, alice, "retry-me", amount_cents=1000)

    creates = stripe_fake.creates()
    assert len(creates) == 2
    assert {c.headers["idempotency-key"] for c in creates} == {f"strata-payment-{body['id']}"}
    assert len(stripe_fake.intents) == 1
    assert body["client_secret"] == provider_intent_of(stripe_fake, body["id"])["client_secret"]


async def test_retries_a_429_from_stripe(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    stripe_fake.fail_next(1, status=429)

    await create_intent(pay_client, alice, amount_cents=1000)

    assert len(stripe_fake.creates()) == 2
    assert len(stripe_fake.intents) == 1


async def test_returns_402_with_the_decline_code_when_the_card_is_declined(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    stripe_fake.decline_next("insufficient_funds")

    response = await post_intent(pay_client, alice, "declined", amount_cents=1000)

    body = assert_problem(response, 402, "payment.declined")
    assert body["decline_code"] == "insufficient_funds"
    assert "sk_" not in response.text
    assert len(stripe_fake.creates()) == 1  # a decline is an answer: never retried
    assert await payments_of(pay_client, alice) == []


async def test_returns_502_for_an_answer_that_is_not_json(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    stripe_fake.malformed_next(3)

    response = await post_intent(pay_client, alice, amount_cents=1000)

    assert response.status_code in (502,), response.text
    assert response.json()["code"] == "payment.provider_error"
    assert await payments_of(pay_client, alice) == []


async def test_returns_504_within_its_bound_when_stripe_is_slow(
    database_url: str, stripe_fake: StripeFake
) -> None:
    async with payments_client(
        database_url, stripe_fake, stripe_read_timeout_seconds=0.3
    ) as client:
        headers = await account(client, "alice@example.com")
        stripe_fake.delay_next(1.0)
        started = time.monotonic()
        response = await post_intent(client, headers, "slow", amount_cents=1000)
        elapsed = time.monotonic() - started
        # Let the stand-in finish the abandoned request before the next test resets it.
        await wait_for(lambda: len(stripe_fake.intents) == 1)
        listed = await payments_of(client, headers)

    assert_problem(response, 504, "payment.provider_timeout")
    assert elapsed < 1.5
    assert len(stripe_fake.creates()) == 1  # a read timeout is not retried
    assert listed == []


async def test_returns_502_when_5xx_persist_and_a_retry_with_the_key_keeps_the_payment_id(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    stripe_fake.fail_next(3, status=503)  # the first attempt and both retries

    failed = await post_intent(pay_client, alice, "order-7", amount_cents=1000)
    failed_attempts = stripe_fake.creates()
    retried = await post_intent(pay_client, alice, "order-7", amount_cents=1000)

    assert_problem(failed, 502, "payment.provider_error")
    assert len(failed_attempts) == 3
    assert retried.status_code == 201, retried.text
    payment_id = retried.json()["id"]
    assert {c.headers["idempotency-key"] for c in stripe_fake.creates()} == {
        f"strata-payment-{payment_id}"
    }
    assert {c.form["metadata[strata_payment_id]"] for c in failed_attempts} == {payment_id}
    assert len(stripe_fake.intents) == 1
    assert [p["id"] for p in await payments_of(pay_client, alice)] == [payment_id]


async def test_opens_the_circuit_after_repeated_failures_and_answers_503_without_calling(
    database_url: str, stripe_fake: StripeFake
) -> None:
    async with payments_client(
        database_url,
        stripe_fake,
        stripe_max_retries=0,
        stripe_breaker_failure_threshold=2,
        stripe_breaker_cooldown_seconds=60,
    ) as client:
        headers = await account(client, "alice@example.com")
        stripe_fake.fail_next(2, status=500)
        first = await post_intent(client, headers, "a", amount_cents=1000)
        second = await post_intent(client, headers, "b", amount_cents=1000)
        calls_before = len(stripe_fake.requests)
        refused = await post_intent(client, headers, "c", amount_cents=1000)
        calls_after = len(stripe_fake.requests)

    assert_problem(first, 502, "payment.provider_error")
    assert_problem(second, 502, "payment.provider_error")
    assert_problem(refused, 503, "payment.provider_unavailable")
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert calls_before == calls_after == 2


# ------------------------------------------------------------------ read one


async def test_owner_reads_the_intent_with_its_secret_and_the_status_refreshed(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    created = await create_intent(pay_client, alice, amount_cents=1000)
    intent = provider_intent_of(stripe_fake, created["id"])
    stripe_fake.set_status(intent["id"], "processing")

    response = await pay_client.get(f"{INTENTS}/{created['id']}", headers=alice)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {**created, "status": "processing"}
    assert response.json()["client_secret"] == intent["client_secret"]
    [stored] = await payments_of(pay_client, alice)
    assert stored["status"] == "processing"
    assert stored["version"] == 2


async def test_returns_404_when_the_payment_belongs_to_someone_else(
    pay_client: AsyncClient, alice: Headers, bob: Headers
) -> None:
    created = await create_intent(pay_client, alice, amount_cents=1000)

    response = await pay_client.get(f"{INTENTS}/{created['id']}", headers=bob)

    body = assert_problem(response, 404, "payment.not_found")
    assert created["client_secret"] not in response.text
    assert "client_secret" not in body


async def test_returns_404_for_an_unknown_and_422_for_a_malformed_id(
    pay_client: AsyncClient, alice: Headers
) -> None:
    assert_problem(
        await pay_client.get(f"{INTENTS}/{MISSING}", headers=alice), 404, "payment.not_found"
    )
    assert_problem(
        await pay_client.get(f"{INTENTS}/not-a-uuid", headers=alice), 422, "validation_error"
    )


async def test_answers_the_stored_state_when_stripe_is_down(
    pay_client: AsyncClient, alice: Headers, stripe_fake: StripeFake
) -> None:
    created = await create_intent(pay_client, alice, amount_cents=1000)
    stripe_fake.set_status(provider_intent_of(stripe_fake, created["id"])["id"], "processing")
    stripe_fake.fail_next(3, status=500)

    response = await pay_client.get(f"{INTENTS}/{created['id']}", headers=alice)

    assert response.status_code == 200, response.text
    assert response.json() == created
    [stored] = await payments_of(pay_client, alice)
    assert stored["status"] == "requires_payment_method"


# ------------------------------------------------------------------ list


async def test_lists_only_the_callers_payments_in_cursor_pages(
    pay_client: AsyncClient, alice: Headers, bob: Headers
) -> None:
    mine = [(await create_intent(pay_client, alice, amount_cents=1000 + i))["id"] for i in range(3)]
    theirs = await create_intent(pay_client, bob, amount_cents=5000)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = await pay_client.get(PAYMENTS, params=params, headers=alice)
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        assert len(items) == 1
        assert "client_secret" not in items[0]
        seen.append(items[0]["id"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == mine
    assert theirs["id"] not in seen
    assert [p["id"] for p in await payments_of(pay_client, bob)] == [theirs["id"]]


async def test_returns_400_for_a_bad_cursor(pay_client: AsyncClient, alice: Headers) -> None:
    for cursor in ("garbage", "!!!", "eyJ4IjoxfQ"):
        response = await pay_client.get(PAYMENTS, params={"cursor": cursor}, headers=alice)
        assert_problem(response, 400, "pagination.invalid_cursor")
    assert_problem(
        await pay_client.get(PAYMENTS, params={"limit": 0}, headers=alice), 422, "validation_error"
    )
