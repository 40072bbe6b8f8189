"""What happens to a payment, told to whoever listens (in-process handlers, later other services)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.domain.entities.payment import Payment, PaymentStatus, StatusObservation
from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentEvent(DomainEvent):
    payment_id: UUID
    user_id: UUID | None
    amount_cents: int
    currency: str

    @property
    def aggregate_id(self) -> UUID | None:
        return self.payment_id


class PaymentSucceeded(PaymentEvent): ...


class PaymentProcessing(PaymentEvent): ...


class PaymentRequiresAction(PaymentEvent): ...


class PaymentCanceled(PaymentEvent): ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentFailed(PaymentEvent):
    failure_code: str | None


_EVENT_BY_STATUS: dict[PaymentStatus, type[PaymentEvent]] = {
    PaymentStatus.SUCCEEDED: PaymentSucceeded,
    PaymentStatus.PROCESSING: PaymentProcessing,
    PaymentStatus.REQUIRES_ACTION: PaymentRequiresAction,
    PaymentStatus.CANCELED: PaymentCanceled,
}


def event_for(payment: Payment, observation: StatusObservation) -> PaymentEvent | None:
    """The event that applying `observation` (which produced `payment`) means, if any."""
    if observation.failure is not None:
        return PaymentFailed(
            occurred_at=observation.observed_at,
            payment_id=payment.id,
            user_id=payment.user_id,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            failure_code=observation.failure.code,
        )
    event_type = _EVENT_BY_STATUS.get(payment.status)
    if event_type is None:
        return None
    return event_type(
        occurred_at=observation.observed_at,
        payment_id=payment.id,
        user_id=payment.user_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
    )
