from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.payment import PaymentAuditUnitOfWork
from app.domain.entities.audit import AuditEvent, AuditOutcome
from app.domain.events import DomainEvent
from app.domain.events.payment import (
    PaymentCanceled,
    PaymentEvent,
    PaymentFailed,
    PaymentProcessing,
    PaymentRequiresAction,
    PaymentSucceeded,
)

_ACTIONS: dict[type[PaymentEvent], str] = {
    PaymentSucceeded: "payment.succeeded",
    PaymentProcessing: "payment.processing",
    PaymentRequiresAction: "payment.requires_action",
    PaymentCanceled: "payment.canceled",
    PaymentFailed: "payment.failed",
}


class RecordPaymentEvent:
    """Handler of payment events: each status change the provider reports goes into the audit
    trail, with no actor (the provider acted, not a user), once however often it is delivered."""

    HANDLER = "payment.audit"

    def __init__(self, uow: PaymentAuditUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, event: DomainEvent) -> None:
        if not isinstance(event, PaymentEvent):
            return
        details = {"amount_cents": str(event.amount_cents), "currency": event.currency}
        if isinstance(event, PaymentFailed) and event.failure_code:
            details["failure_code"] = event.failure_code
        async with self._uow as uow:
            if not await uow.processed_events.claim(
                self.HANDLER, event.event_id, self._clock.now()
            ):
                return  # delivered again: its row is already in the trail
            await uow.audit_events.add(
                AuditEvent.record(
                    action=_ACTIONS.get(type(event), "payment.changed"),
                    now=event.occurred_at,
                    actor_id=None,
                    target_type="payment",
                    target_id=event.payment_id,
                    outcome=(
                        AuditOutcome.FAILURE
                        if isinstance(event, PaymentFailed)
                        else AuditOutcome.SUCCESS
                    ),
                    details=details,
                )
            )
            await uow.commit()
