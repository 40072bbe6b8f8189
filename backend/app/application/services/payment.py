"""One way for what the provider says of an intent to reach our payment: through `Payment.observe`
(forward only), after checking the intent is the payment we recorded; the event it means is
recorded in the outbox with the change."""

from __future__ import annotations

import logging
from datetime import datetime

from app.application.interfaces.payment import PaymentUnitOfWork, ProviderIntent
from app.domain.entities.payment import Payment, StatusObservation
from app.domain.events.payment import PaymentEvent, event_for

logger = logging.getLogger("strata.payments")


def matches(payment: Payment, intent: ProviderIntent) -> bool:
    """Whether the provider's intent is for the amount and currency we recorded; one that is not
    was changed outside our control, and must not move our record."""
    return intent.amount_cents == payment.amount_cents and intent.currency == payment.currency


async def apply_observation(
    uow: PaymentUnitOfWork, payment: Payment, observation: StatusObservation, now: datetime
) -> tuple[Payment, PaymentEvent | None]:
    """The payment after the observation (stored, inside the caller's transaction) and the event
    to publish once it commits; the payment unchanged and no event when it was no news."""
    changed = payment.observe(observation, now=now)
    if changed is None:
        return payment, None
    if not await uow.payments.replace(changed, expected_version=payment.version):
        # Another transaction changed it first; the row lock makes this rare (SQLite queues
        # writers, PostgreSQL callers lock the row), and the newer state stands.
        logger.info("payment changed concurrently", extra={"payment_id": str(payment.id)})
        return payment, None
    event = event_for(changed, observation)
    if event is not None:
        # In the same transaction as the change: the event leaves if and only if it commits.
        await uow.outbox.add([event], now)
    return changed, event
