"""The periodic jobs that forget what has outlived its use: expired sessions, expired
idempotency keys and old webhook payloads go, in short batches, and nothing else does."""

from __future__ import annotations

from datetime import timedelta

from app.application.interfaces.idempotency import IdempotencyRecord
from app.application.interfaces.payment import WebhookEvent
from app.application.use_cases.idempotency.sweep_expired_keys import SweepExpiredIdempotencyKeys
from app.application.use_cases.payment import forget_webhook_payloads
from app.application.use_cases.payment.forget_webhook_payloads import ForgetWebhookPayloads
from app.application.use_cases.session import sweep_expired_sessions
from app.application.use_cases.session.sweep_expired_sessions import SweepExpiredSessions
from app.domain.entities.session import Session
from app.domain.value_objects.identifiers import new_id
from tests.builders import make_job, make_session
from tests.fakes import FakeClock, FakeUnitOfWork

DAY = timedelta(days=1)
RETENTION = timedelta(days=30)


def sessions_expiring(clock: FakeClock, count: int, *, at_offset: timedelta) -> list[Session]:
    """`count` sessions that expire `at_offset` from now (negative: expired already)."""
    session = make_session(now=clock.now() + at_offset - DAY, lifetime=DAY)
    return [session.model_copy(update={"id": new_id()}) for _ in range(count)]


async def test_expired_sessions_are_deleted_in_batches_and_live_ones_kept(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    expired = sessions_expiring(clock, sweep_expired_sessions.BATCH + 500, at_offset=-DAY)
    expiring_now = sessions_expiring(clock, 1, at_offset=timedelta(0))
    live = sessions_expiring(clock, 3, at_offset=timedelta(seconds=1))
    uow.fake_sessions.seed(*expired, *expiring_now, *live)

    await SweepExpiredSessions(lambda: uow, clock)(make_job())

    assert {s.id for s in uow.fake_sessions.committed} == {s.id for s in live}
    assert uow.committed == 2  # a full batch, then the rest


async def test_a_sweep_of_exactly_one_batch_of_sessions_checks_that_none_is_left(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    live = sessions_expiring(clock, 1, at_offset=DAY)
    expired = sessions_expiring(clock, sweep_expired_sessions.BATCH, at_offset=-DAY)
    uow.fake_sessions.seed(*expired, *live)

    await SweepExpiredSessions(lambda: uow, clock)(make_job())

    assert [s.id for s in uow.fake_sessions.committed] == [live[0].id]
    assert uow.committed == 2


async def test_a_sweep_with_no_expired_session_changes_nothing(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    live = sessions_expiring(clock, 2, at_offset=DAY)
    uow.fake_sessions.seed(*live)

    await SweepExpiredSessions(lambda: uow, clock)(make_job())

    assert {s.id for s in uow.fake_sessions.committed} == {s.id for s in live}
    assert uow.committed == 1


def idempotency_record(clock: FakeClock, *, expires_in: timedelta) -> IdempotencyRecord:
    now = clock.now()
    return IdempotencyRecord(
        user_id=new_id(),
        key=f"key-{new_id()}",
        fingerprint="0" * 64,
        reserved_id=new_id(),
        locked_until=now - DAY,
        created_at=now - 2 * DAY,
        expires_at=now + expires_in,
        sealed_result="sealed:{}",
    )


async def test_expired_idempotency_keys_are_deleted_and_live_ones_kept(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    expired = [idempotency_record(clock, expires_in=-DAY) for _ in range(1_200)]
    expired.append(idempotency_record(clock, expires_in=timedelta(0)))
    live = [idempotency_record(clock, expires_in=timedelta(seconds=1)) for _ in range(3)]
    async with uow:
        for record in [*expired, *live]:
            assert await uow.idempotency_keys.add_if_absent(record)
        await uow.commit()

    await SweepExpiredIdempotencyKeys(lambda: uow, clock)(make_job())

    assert set(uow.fake_idempotency_keys.committed) == {(r.user_id, r.key) for r in live}


def webhook_event(
    clock: FakeClock, *, age: timedelta, payload: str = '{"card": "4242"}'
) -> WebhookEvent:
    return WebhookEvent(
        event_id=f"evt_{new_id().hex}",
        type="payment_intent.succeeded",
        received_at=clock.now() - age,
        payload=payload,
        processed_at=clock.now() - age,
        outcome="applied",
    )


async def test_webhook_payloads_past_retention_are_emptied_in_batches_and_the_ids_kept(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    batch = forget_webhook_payloads.BATCH
    old = [webhook_event(clock, age=RETENTION + DAY) for _ in range(2 * batch + 500)]
    old_already_empty = [webhook_event(clock, age=RETENTION + DAY, payload="")]
    at_cutoff = [webhook_event(clock, age=RETENTION)]
    recent = [webhook_event(clock, age=DAY) for _ in range(3)]
    async with uow:
        for event in [*old, *old_already_empty, *at_cutoff, *recent]:
            assert await uow.webhook_events.add_if_absent(event)
        await uow.commit()
    commits_before = uow.committed

    await ForgetWebhookPayloads(lambda: uow, clock, RETENTION)(make_job())

    stored = uow.fake_webhook_events.committed
    assert len(stored) == len(old) + 1 + 1 + len(recent)  # every event id is kept
    assert all(stored[e.event_id].payload == "" for e in old + old_already_empty)
    assert all(stored[e.event_id] == e for e in at_cutoff + recent)
    assert all(stored[e.event_id].outcome == "applied" for e in old)
    assert uow.committed - commits_before == 3  # two full batches, then the rest
