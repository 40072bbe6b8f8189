"""The outbox relay: committed events reach their handlers, those a crash left are handed out
later, a redelivery changes nothing, and old rows are forgotten (issue 11 §2)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.application.services.events import LEFTOVER_AGE, RETENTION, OutboxRelay
from app.domain.events.user import UserRegistered
from app.domain.value_objects.identifiers import new_id
from tests.fakes import FakeClock, FakeEventPublisher, FakeUnitOfWork


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def handlers() -> FakeEventPublisher:
    return FakeEventPublisher()


@pytest.fixture
def relay(uow: FakeUnitOfWork, handlers: FakeEventPublisher, clock: FakeClock) -> OutboxRelay:
    return OutboxRelay(lambda: uow, handlers, clock)


def registered(clock: FakeClock) -> UserRegistered:
    return UserRegistered(occurred_at=clock.now(), user_id=new_id())


async def committed(uow: FakeUnitOfWork, clock: FakeClock, *events: UserRegistered) -> None:
    async with uow:
        await uow.outbox.add(list(events), clock.now())
        await uow.commit()


async def unpublished(uow: FakeUnitOfWork) -> list[UserRegistered]:
    async with uow:
        return await uow.outbox.unpublished(100)  # type: ignore[no-any-return]


async def test_relaying_hands_the_events_out_and_marks_them_published(
    relay: OutboxRelay, uow: FakeUnitOfWork, handlers: FakeEventPublisher, clock: FakeClock
) -> None:
    event = registered(clock)
    await committed(uow, clock, event)

    await relay.relay([event])

    assert handlers.published == [event]
    assert await unpublished(uow) == []


async def test_what_a_crash_left_unpublished_is_handed_out_once_old_enough(
    relay: OutboxRelay, uow: FakeUnitOfWork, handlers: FakeEventPublisher, clock: FakeClock
) -> None:
    left = registered(clock)
    await committed(uow, clock, left)  # committed, then the process died before relaying it

    assert await relay.relay_leftovers() == 0  # its own request may still be relaying it
    clock.advance(LEFTOVER_AGE + timedelta(seconds=1))
    assert await relay.relay_leftovers() == 1
    assert await relay.relay_leftovers() == 0

    assert handlers.published == [left]
    assert await unpublished(uow) == []


async def test_leftovers_go_out_in_the_order_they_were_recorded_in_batches(
    relay: OutboxRelay, uow: FakeUnitOfWork, handlers: FakeEventPublisher, clock: FakeClock
) -> None:
    events = []
    for _ in range(250):
        clock.advance(timedelta(milliseconds=1))
        events.append(registered(clock))
        await committed(uow, clock, events[-1])

    clock.advance(timedelta(milliseconds=1))
    assert await relay.relay_leftovers(min_age=timedelta(0)) == 250

    assert [e.event_id for e in handlers.published] == [e.event_id for e in events]


async def test_published_events_and_claims_past_their_retention_are_forgotten(
    relay: OutboxRelay, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    old = registered(clock)
    await committed(uow, clock, old)
    await relay.relay([old])
    async with uow:
        await uow.processed_events.claim("a handler", old.event_id, clock.now())
        await uow.commit()
    pending = registered(clock)
    await committed(uow, clock, pending)  # never published: kept, however old

    clock.advance(RETENTION + timedelta(seconds=1))
    await relay.forget_old()

    assert list(uow.fake_outbox.committed) == [pending.event_id]
    assert uow.fake_processed_events.committed == {}


class UnreachableStream:
    """A publisher whose stream does not answer (Redis down)."""

    async def publish(self, events: object) -> None:
        raise ConnectionError("stream unreachable")


async def test_a_relay_that_cannot_publish_does_not_fail_the_committed_change(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    relay = OutboxRelay(lambda: uow, UnreachableStream(), clock)
    event = registered(clock)
    await committed(uow, clock, event)

    await relay.relay([event])  # no exception: the caller's change is committed

    assert await unpublished(uow) == [event]  # kept for the leftover relay


async def test_leftovers_that_cannot_be_published_raise_for_the_caller_to_retry_later(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    relay = OutboxRelay(lambda: uow, UnreachableStream(), clock)
    event = registered(clock)
    await committed(uow, clock, event)
    clock.advance(timedelta(seconds=1))

    with pytest.raises(ConnectionError):
        await relay.relay_leftovers(min_age=timedelta(0))

    assert await unpublished(uow) == [event]


async def test_events_published_since_a_cutoff_are_handed_out_again_in_pages(
    relay: OutboxRelay, uow: FakeUnitOfWork, handlers: FakeEventPublisher, clock: FakeClock
) -> None:
    old = registered(clock)
    await committed(uow, clock, old)
    await relay.relay([old])
    clock.advance(timedelta(minutes=10))
    cutoff = clock.now()
    recent = [registered(clock) for _ in range(150)]  # more than one page
    await committed(uow, clock, *recent)
    await relay.relay(recent)
    handlers.published.clear()

    republished = await relay.republish_since(cutoff)

    assert republished == 150
    assert handlers.published == sorted(recent, key=lambda event: event.event_id)


async def test_the_lag_is_the_age_of_the_oldest_unpublished_event(
    relay: OutboxRelay, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    assert await relay.measure_lag() == 0.0
    await committed(uow, clock, registered(clock))
    clock.advance(timedelta(seconds=42))
    await committed(uow, clock, registered(clock))

    assert await relay.measure_lag() == 42.0
