"""The outbox and the processed-events record on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.events import DomainEvent
from app.domain.events.payment import PaymentFailed, PaymentSucceeded
from app.domain.events.user import UserRegistered
from app.infrastructure.models.event import OutboxEventModel
from app.infrastructure.repositories.event import SqlAlchemyEventOutbox, SqlAlchemyProcessedEvents
from tests.fakes import DEFAULT_NOW
from tests.integration.stored import stored_user

LATER = DEFAULT_NOW + timedelta(minutes=5)


def payment_succeeded() -> PaymentSucceeded:
    return PaymentSucceeded(
        occurred_at=DEFAULT_NOW,
        payment_id=uuid4(),
        user_id=uuid4(),
        amount_cents=1999,
        currency="eur",
    )


def ids(events: Sequence[DomainEvent]) -> list[UUID]:
    return [event.event_id for event in events]


def identified(events: Sequence[DomainEvent]) -> set[tuple[UUID, DomainEvent]]:
    """Each event with its id, which event equality leaves out."""
    return {(event.event_id, event) for event in events}


async def record_one_by_one(outbox: SqlAlchemyEventOutbox, count: int) -> list[DomainEvent]:
    """`count` events, each recorded a second after the one before it (from DEFAULT_NOW)."""
    events: list[DomainEvent] = [payment_succeeded() for _ in range(count)]
    for position, event in enumerate(events):
        await outbox.add([event], DEFAULT_NOW + timedelta(seconds=position))
    return events


async def test_events_come_back_equal_to_what_was_recorded(connection: AsyncConnection) -> None:
    outbox = SqlAlchemyEventOutbox(connection)
    events: list[DomainEvent] = [
        replace(payment_succeeded(), user_id=None),  # an erased user's payment
        PaymentFailed(
            occurred_at=DEFAULT_NOW,
            payment_id=uuid4(),
            user_id=uuid4(),
            amount_cents=500,
            currency="usd",
            failure_code="card_declined",
        ),
        UserRegistered(occurred_at=DEFAULT_NOW, user_id=uuid4()),
    ]

    await outbox.add(events, DEFAULT_NOW)

    assert identified(await outbox.unpublished(10)) == identified(events)


async def test_an_event_is_stored_with_its_aggregate_and_schema_version(
    connection: AsyncConnection,
) -> None:
    """Columns a consumer reads without restoring the event (ordering, old payloads)."""
    event = payment_succeeded()

    await SqlAlchemyEventOutbox(connection).add([event], LATER)

    row = (await connection.execute(select(OutboxEventModel.__table__))).mappings().one()
    assert row["name"] == "PaymentSucceeded"
    assert row["aggregate_id"] == event.payment_id
    assert row["schema_version"] == PaymentSucceeded.schema_version
    assert row["recorded_at"] == LATER
    assert row["published_at"] is None


async def test_recording_no_events_records_nothing(connection: AsyncConnection) -> None:
    outbox = SqlAlchemyEventOutbox(connection)

    await outbox.add([], DEFAULT_NOW)

    assert await outbox.unpublished(10) == []


async def test_unpublished_events_come_oldest_recorded_first_up_to_the_limit(
    connection: AsyncConnection,
) -> None:
    outbox = SqlAlchemyEventOutbox(connection)
    # Recorded in reverse of their ids' order: the order must be the recording's, not the id's.
    events = sorted((payment_succeeded() for _ in range(3)), key=lambda event: event.event_id)
    for position, event in enumerate(reversed(events)):
        await outbox.add([event], DEFAULT_NOW + timedelta(seconds=position))

    assert ids(await outbox.unpublished(10)) == ids(events[::-1])
    assert ids(await outbox.unpublished(2)) == ids(events[::-1][:2])


async def test_unpublished_takes_only_events_recorded_before_the_bound(
    connection: AsyncConnection,
) -> None:
    outbox = SqlAlchemyEventOutbox(connection)
    events = await record_one_by_one(outbox, 3)

    recorded_before = DEFAULT_NOW + timedelta(seconds=2)

    assert ids(await outbox.unpublished(10, recorded_before=recorded_before)) == ids(events[:2])


async def test_published_events_are_no_longer_unpublished(connection: AsyncConnection) -> None:
    outbox = SqlAlchemyEventOutbox(connection)
    events = await record_one_by_one(outbox, 3)

    await outbox.mark_published([events[0].event_id, events[2].event_id], LATER)

    assert ids(await outbox.unpublished(10)) == ids([events[1]])


async def test_only_events_published_before_the_cutoff_are_deleted(
    connection: AsyncConnection,
) -> None:
    outbox = SqlAlchemyEventOutbox(connection)
    published_early, published_late, unpublished = await record_one_by_one(outbox, 3)
    await outbox.mark_published([published_early.event_id], DEFAULT_NOW + timedelta(minutes=1))
    await outbox.mark_published([published_late.event_id], LATER)

    # Even an event recorded long before the cutoff stays while it is unpublished.
    assert await outbox.delete_published_before(LATER) == 1

    assert ids(await outbox.unpublished(10)) == ids([unpublished])
    assert await outbox.delete_published_before(LATER + timedelta(seconds=1)) == 1
    assert await outbox.delete_published_before(LATER + timedelta(days=1)) == 0
    assert ids(await outbox.unpublished(10)) == ids([unpublished])


async def test_a_handler_claims_an_event_once(connection: AsyncConnection) -> None:
    processed = SqlAlchemyProcessedEvents(connection)
    event_id = uuid4()

    assert await processed.claim("audit", event_id, DEFAULT_NOW) is True
    assert await processed.claim("audit", event_id, LATER) is False
    assert await processed.claim("mail", event_id, LATER) is True
    assert await processed.claim("audit", uuid4(), LATER) is True


async def test_a_refused_claim_leaves_the_transaction_usable(connection: AsyncConnection) -> None:
    processed = SqlAlchemyProcessedEvents(connection)
    event_id = uuid4()
    await processed.claim("audit", event_id, DEFAULT_NOW)

    assert await processed.claim("audit", event_id, DEFAULT_NOW) is False

    # A failed INSERT would have aborted the transaction on PostgreSQL: these writes would fail.
    user = await stored_user(connection)
    outbox = SqlAlchemyEventOutbox(connection)
    event = UserRegistered(occurred_at=DEFAULT_NOW, user_id=user.id)
    await outbox.add([event], DEFAULT_NOW)
    assert identified(await outbox.unpublished(10)) == identified([event])


async def test_claims_made_before_the_cutoff_are_deleted(connection: AsyncConnection) -> None:
    processed = SqlAlchemyProcessedEvents(connection)
    early, late = uuid4(), uuid4()
    await processed.claim("audit", early, DEFAULT_NOW)
    await processed.claim("audit", late, LATER)

    assert await processed.delete_before(LATER) == 1

    assert await processed.claim("audit", early, LATER) is True  # forgotten: claimable again
    assert await processed.claim("audit", late, LATER) is False
