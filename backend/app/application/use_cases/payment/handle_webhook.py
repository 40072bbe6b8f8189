"""Receive a provider webhook: verify it, record it in the inbox, apply it, all at most once.

Webhooks arrive at least once and in any order. The event is recorded (unique by its id) and its
effect applied in one transaction: a crash between the two leaves nothing, so the provider's retry
applies it; a redelivery, sequential or concurrent, finds the id recorded and changes nothing.
Nothing here calls the provider: the answer must be fast, or the provider retries.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.payment import (
    PaymentUnitOfWork,
    ProviderEvent,
    WebhookEvent,
    WebhookVerifier,
)
from app.application.services.payment import apply_observation, matches
from app.domain.entities.payment import PaymentFailure, PaymentStatus, StatusObservation
from app.domain.events.payment import PaymentEvent

logger = logging.getLogger("strata.payments")

# The payment intent events we act on, and the status each one reports.
HANDLED_EVENTS: dict[str, PaymentStatus] = {
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "payment_intent.processing": PaymentStatus.PROCESSING,
    "payment_intent.payment_failed": PaymentStatus.REQUIRES_PAYMENT_METHOD,
    "payment_intent.canceled": PaymentStatus.CANCELED,
    "payment_intent.requires_action": PaymentStatus.REQUIRES_ACTION,
}
FAILED_EVENT = "payment_intent.payment_failed"


class WebhookOutcome(StrEnum):
    """What became of an event, kept in the inbox."""

    APPLIED = "applied"
    NO_CHANGE = "no_change"  # stale, or the payment is already there or further
    IGNORED_TYPE = "ignored_type"
    UNKNOWN_PAYMENT = "unknown_payment"
    MISMATCH = "amount_mismatch"
    DUPLICATE = "duplicate"  # never stored: the first delivery's outcome stands


class HandleWebhook:
    def __init__(
        self,
        uow: PaymentUnitOfWork,
        verifier: WebhookVerifier,
        events: EventRelay,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._verifier = verifier
        self._events = events
        self._clock = clock

    async def execute(self, payload: bytes, signature_header: str | None) -> WebhookOutcome:
        now = self._clock.now()
        event = self._verifier.verify(payload, signature_header, now=now)
        published: PaymentEvent | None = None
        async with self._uow as uow:
            recorded = WebhookEvent(
                event_id=event.event_id, type=event.type, received_at=now, payload=event.payload
            )
            if not await uow.webhook_events.add_if_absent(recorded):
                return WebhookOutcome.DUPLICATE
            outcome, published = await self._apply(uow, event)
            await uow.webhook_events.mark_processed(event.event_id, outcome=outcome, now=now)
            await uow.commit()
        if published is not None:
            await self._events.relay([published])
        return outcome

    async def _apply(
        self, uow: PaymentUnitOfWork, event: ProviderEvent
    ) -> tuple[WebhookOutcome, PaymentEvent | None]:
        status = HANDLED_EVENTS.get(event.type)
        intent = event.intent
        if status is None or intent is None:
            return WebhookOutcome.IGNORED_TYPE, None
        payment = await uow.payments.get_by_provider_id(intent.provider_id, for_update=True)
        if payment is None:
            return WebhookOutcome.UNKNOWN_PAYMENT, None
        if not matches(payment, intent):
            logger.warning(
                "webhook amount or currency differs from our payment; not applied",
                extra={"event_id": event.event_id, "payment_id": str(payment.id)},
            )
            return WebhookOutcome.MISMATCH, None
        failure = None
        if event.type == FAILED_EVENT:
            failure = intent.last_failure or PaymentFailure(code=None, message=None)
        observation = StatusObservation(status, observed_at=event.created_at, failure=failure)
        _, published = await apply_observation(uow, payment, observation, self._clock.now())
        if published is None:
            return WebhookOutcome.NO_CHANGE, None
        return WebhookOutcome.APPLIED, published
