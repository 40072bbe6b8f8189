"""The payment, webhook inbox and idempotency repositories on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.idempotency import IdempotencyRecord
from app.application.interfaces.payment import WebhookEvent
from app.domain.entities.payment import (
    PaymentFailure,
    PaymentStatus,
    StatusObservation,
)
from app.domain.entities.user import User
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.idempotency import SqlAlchemyIdempotencyRepository
from app.infrastructure.repositories.payment import (
    SqlAlchemyPaymentRepository,
    SqlAlchemyWebhookEventRepository,
)
from tests.builders import make_payment
from tests.conftest import empty_all_tables
from tests.fakes import DEFAULT_NOW
from tests.integration.stored import stored_user

LATER = DEFAULT_NOW + timedelta(minutes=5)
# Long enough that a transaction which did not wait would have answered; short for the suite.
BLOCKED_FOR_SECONDS = 0.3


def make_event(event_id: str = "evt_1", **overrides: Any) -> WebhookEvent:
    values: dict[str, Any] = {
        "event_id": event_id,
        "type": "payment_intent.succeeded",
        "received_at": DEFAULT_NOW,
        "payload": '{"id": "evt_1", "type": "payment_intent.succeeded"}',
        **overrides,
    }
    return WebhookEvent(**values)


def make_key(user: User, key: str = "key-1", **overrides: Any) -> IdempotencyRecord:
    values: dict[str, Any] = {
        "user_id": user.id,
        "key": key,
        "fingerprint": "f" * 64,
        "reserved_id": uuid4(),
        "locked_until": DEFAULT_NOW + timedelta(seconds=30),
        "created_at": DEFAULT_NOW,
        "expires_at": DEFAULT_NOW + timedelta(hours=24),
        **overrides,
    }
    return IdempotencyRecord(**values)


def assert_aware(*moments: datetime | None) -> None:
    for moment in moments:
        assert moment is not None
        assert moment.utcoffset() == timedelta(0)


# ---------------------------------------------------------------- payments


async def test_a_payment_round_trips_by_id_and_by_provider_id(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    payments = SqlAlchemyPaymentRepository(connection)
    payment = make_payment(
        user_id=alice.id,
        amount_cents=12_345_678,
        currency="eur",
        metadata={"order": "A-42", "note": "Café"},
        product_id=uuid4(),
    )

    await payments.add(payment)

    assert await payments.get(payment.id) == payment
    assert await payments.get_by_provider_id(payment.provider_id) == payment
    assert await payments.get_by_provider_id(payment.provider_id, for_update=True) == payment
    assert await payments.get(uuid4()) is None
    assert await payments.get_by_provider_id("pi_unknown") is None
    stored = await payments.get(payment.id)
    assert stored is not None
    assert stored.currency == "EUR"
    assert stored.metadata == {"order": "A-42", "note": "Café"}
    assert_aware(stored.created_at, stored.updated_at, stored.status_observed_at)


async def test_replace_applies_only_from_the_expected_version(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    payments = SqlAlchemyPaymentRepository(connection)
    payment = make_payment(user_id=alice.id)
    await payments.add(payment)
    failed = payment.observe(
        StatusObservation(
            status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
            observed_at=LATER,
            failure=PaymentFailure(code="insufficient_funds", message="Declined."),
        ),
        now=LATER,
    )
    assert failed is not None

    assert await payments.replace(failed, expected_version=payment.version) is True
    assert await payments.replace(failed, expected_version=payment.version) is False
    assert await payments.get(payment.id) == failed

    succeeded = failed.observe(
        StatusObservation(status=PaymentStatus.SUCCEEDED, observed_at=LATER), now=LATER
    )
    assert succeeded is not None
    assert await payments.replace(succeeded, expected_version=failed.version) is True
    stored = await payments.get(payment.id)
    assert stored == succeeded
    assert stored is not None
    assert (stored.status, stored.version, stored.failure_code) == (
        PaymentStatus.SUCCEEDED,
        3,
        "insufficient_funds",
    )


async def test_a_second_payment_for_one_provider_intent_is_refused(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    payments = SqlAlchemyPaymentRepository(connection)
    payment = make_payment(user_id=alice.id)
    await payments.add(payment)

    with pytest.raises(IntegrityError):
        async with connection.begin_nested():
            await payments.add(make_payment(user_id=alice.id, provider_id=payment.provider_id))

    assert [p.id for p in await payments.list_by_user(alice.id)] == [payment.id]


async def test_a_users_payments_are_paged_by_id_and_listed_only_for_them(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    payments = SqlAlchemyPaymentRepository(connection)
    mine = sorted((make_payment(user_id=alice.id) for _ in range(5)), key=lambda p: p.id)
    for payment in (*reversed(mine), make_payment(user_id=bob.id)):
        await payments.add(payment)

    assert await payments.list_page(user_id=alice.id, after=None, limit=2) == mine[:2]
    assert await payments.list_page(user_id=alice.id, after=mine[1].id, limit=2) == mine[2:4]
    assert await payments.list_page(user_id=alice.id, after=mine[3].id, limit=2) == mine[4:]
    assert await payments.list_page(user_id=alice.id, after=mine[4].id, limit=2) == []
    assert await payments.list_by_user(alice.id) == mine
    assert await payments.list_by_user(uuid4()) == []


async def test_anonymising_a_user_keeps_the_amounts_and_drops_what_is_theirs(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    payments = SqlAlchemyPaymentRepository(connection)
    mine = [make_payment(user_id=alice.id), make_payment(user_id=alice.id, amount_cents=99_999_999)]
    theirs = make_payment(user_id=bob.id)
    for payment in (*mine, theirs):
        await payments.add(payment)

    assert await payments.anonymise_user(alice.id, now=LATER) == 2

    assert await payments.list_by_user(alice.id) == []
    for before in mine:
        after = await payments.get(before.id)
        assert after is not None
        assert (after.user_id, after.metadata, after.sealed_client_secret) == (None, {}, None)
        assert (after.amount_cents, after.currency, after.provider_id, after.status) == (
            before.amount_cents,
            before.currency,
            before.provider_id,
            before.status,
        )
        assert (after.version, after.updated_at) == (before.version + 1, LATER)
    assert await payments.get(theirs.id) == theirs
    assert await payments.anonymise_user(alice.id, now=LATER) == 0


# ---------------------------------------------------------------- the webhook inbox


async def test_a_webhook_event_is_stored_once_and_marked_processed(
    connection: AsyncConnection,
) -> None:
    events = SqlAlchemyWebhookEventRepository(connection)
    event = make_event()

    assert await events.add_if_absent(event) is True
    assert await events.add_if_absent(make_event(payload="{}")) is False
    assert await events.get("evt_1") == event
    assert await events.get("evt_unknown") is None

    await events.mark_processed("evt_1", outcome="applied", now=LATER)

    processed = await events.get("evt_1")
    assert processed == WebhookEvent(
        event_id="evt_1",
        type=event.type,
        received_at=DEFAULT_NOW,
        payload=event.payload,
        processed_at=LATER,
        outcome="applied",
    )
    assert_aware(processed.received_at, processed.processed_at)
    # The transaction is still usable after a duplicate: no savepoint was needed.
    assert await events.add_if_absent(make_event("evt_2")) is True


# SQLite has one writer at a time: there is no second transaction to race. So this runs on
# PostgreSQL alone, selected by parametrizing the session's `backend` (not skipped on SQLite).
@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_concurrent_deliveries_of_one_event_store_it_once(
    database: Database, database_url: str, backend: str
) -> None:
    assert backend == "postgresql"
    try:
        async with database.engine.connect() as first, database.engine.connect() as second:
            await first.begin()
            await second.begin()
            assert await SqlAlchemyWebhookEventRepository(first).add_if_absent(make_event())
            racing = asyncio.create_task(
                SqlAlchemyWebhookEventRepository(second).add_if_absent(make_event())
            )
            await asyncio.sleep(BLOCKED_FOR_SECONDS)
            assert not racing.done()  # waiting for the first transaction to end

            await first.commit()
            assert await asyncio.wait_for(racing, timeout=5) is False
            await second.commit()

        async with database.engine.connect() as reading:
            assert await SqlAlchemyWebhookEventRepository(reading).get("evt_1") == make_event()
    finally:
        await empty_all_tables(database_url)


# ---------------------------------------------------------------- idempotency keys


async def test_an_idempotency_key_is_claimed_once_per_user(connection: AsyncConnection) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    keys = SqlAlchemyIdempotencyRepository(connection)
    claim = make_key(alice)

    assert await keys.add_if_absent(claim) is True
    assert await keys.add_if_absent(make_key(alice, fingerprint="0" * 64)) is False
    assert await keys.add_if_absent(make_key(bob)) is True

    stored = await keys.get(alice.id, "key-1")
    assert stored == claim
    assert stored is not None
    assert_aware(stored.locked_until, stored.created_at, stored.expires_at)
    assert await keys.get(alice.id, "key-2") is None
    assert await keys.get(uuid4(), "key-1") is None


async def test_relock_takes_over_a_key_only_from_the_lock_it_last_saw(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    keys = SqlAlchemyIdempotencyRepository(connection)
    claim = make_key(alice)
    bobs = make_key(bob)
    await keys.add_if_absent(claim)
    await keys.add_if_absent(bobs)
    new_lock = LATER + timedelta(seconds=30)

    assert (
        await keys.relock(
            alice.id, "key-1", previous_lock=claim.locked_until, locked_until=new_lock
        )
        is True
    )
    assert (
        await keys.relock(alice.id, "key-1", previous_lock=claim.locked_until, locked_until=LATER)
        is False
    )
    assert await keys.get(alice.id, "key-1") == make_key(
        alice, reserved_id=claim.reserved_id, locked_until=new_lock
    )
    assert await keys.get(bob.id, "key-1") == bobs  # another user's key of the same name
    assert (
        await keys.relock(alice.id, "key-9", previous_lock=claim.locked_until, locked_until=LATER)
        is False
    )


async def test_a_completed_key_keeps_its_result_and_cannot_be_relocked_or_released(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    keys = SqlAlchemyIdempotencyRepository(connection)
    claim = make_key(alice)
    await keys.add_if_absent(claim)

    await keys.complete(alice.id, "key-1", sealed_result="sealed:v1:result")
    await keys.release(alice.id, "key-1", now=LATER)

    completed = await keys.get(alice.id, "key-1")
    assert completed is not None
    assert completed.is_completed
    assert (completed.sealed_result, completed.locked_until) == (
        "sealed:v1:result",
        claim.locked_until,
    )
    assert (
        await keys.relock(alice.id, "key-1", previous_lock=claim.locked_until, locked_until=LATER)
        is False
    )


async def test_releasing_a_key_unlocks_it_for_a_retry(connection: AsyncConnection) -> None:
    alice = await stored_user(connection)
    keys = SqlAlchemyIdempotencyRepository(connection)
    claim = make_key(alice)
    await keys.add_if_absent(claim)

    await keys.release(alice.id, "key-1", now=LATER)

    released = await keys.get(alice.id, "key-1")
    assert released is not None
    assert (released.locked_until, released.sealed_result) == (LATER, None)
    assert_aware(released.locked_until)


async def test_expired_keys_of_everyone_and_a_users_keys_are_deleted(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    keys = SqlAlchemyIdempotencyRepository(connection)
    expired = make_key(alice, "old", expires_at=DEFAULT_NOW - timedelta(seconds=1))
    due_now = make_key(alice, "due", expires_at=DEFAULT_NOW)
    live = make_key(alice, "live")
    bobs_expired = make_key(bob, "old", expires_at=DEFAULT_NOW - timedelta(days=1))
    bobs_live = make_key(bob, "live")
    for record in (expired, due_now, live, bobs_expired, bobs_live):
        await keys.add_if_absent(record)

    assert await keys.delete_expired(DEFAULT_NOW) == 3
    assert [await keys.get(alice.id, k) for k in ("old", "due", "live")] == [None, None, live]
    assert [await keys.get(bob.id, k) for k in ("old", "live")] == [None, bobs_live]

    assert await keys.delete_for_user(alice.id) == 1
    assert await keys.get(alice.id, "live") is None
    assert await keys.get(bob.id, "live") == bobs_live
    assert await keys.delete_for_user(alice.id) == 0


async def test_an_expired_key_is_replaced_only_once_it_has_expired(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    keys = SqlAlchemyIdempotencyRepository(connection)
    old = make_key(alice, "k", expires_at=DEFAULT_NOW)
    await keys.add_if_absent(old)
    await keys.complete(alice.id, "k", sealed_result="sealed:first")
    fresh = make_key(alice, "k", fingerprint="e" * 64)

    assert not await keys.replace_expired(fresh, now=DEFAULT_NOW - timedelta(seconds=1))
    assert (await keys.get(alice.id, "k")).sealed_result == "sealed:first"  # type: ignore[union-attr]

    assert await keys.replace_expired(fresh, now=DEFAULT_NOW)
    assert await keys.get(alice.id, "k") == fresh
