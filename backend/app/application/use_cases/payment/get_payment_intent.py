"""The caller's payment intent, its status refreshed from the provider on the way.

If the provider cannot answer now, the stored state is returned rather than an error: it is what
we last knew, and webhooks keep it current.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.payment import (
    PaymentGateway,
    PaymentProviderError,
    PaymentProviderTimeoutError,
    PaymentProviderUnavailableError,
    PaymentRequestRejectedError,
    PaymentsNotConfiguredError,
    PaymentUnitOfWork,
    ProviderIntent,
)
from app.application.interfaces.security import SecretBox
from app.application.services.payment import apply_observation, matches
from app.application.use_cases.payment.create_payment_intent import PAYMENT, CreatedPaymentIntent
from app.domain.entities.payment import (
    Payment,
    PaymentNotFoundError,
    PaymentStatus,
    StatusObservation,
)
from app.domain.entities.user import User

logger = logging.getLogger("strata.payments")
# Whatever keeps the provider from telling us more leaves what we know standing (an intent it
# rejects a read of, too: the record is ours, and was right when last heard of).
_CANNOT_REFRESH = (
    PaymentProviderError,
    PaymentRequestRejectedError,
    PaymentProviderTimeoutError,
    PaymentProviderUnavailableError,
    PaymentsNotConfiguredError,
)


async def authorized_payment(
    uow: PaymentUnitOfWork, policy: AccessPolicy, actor: User, payment_id: UUID
) -> Payment:
    """The payment if `actor` may read it; the same not-found whether it is absent or someone
    else's."""
    async with uow:
        payment = await uow.payments.get(payment_id)
    if payment is None or not await policy.allows(actor, "read", PAYMENT, owner_id=payment.user_id):
        raise PaymentNotFoundError()
    return payment


class GetPaymentIntent:
    def __init__(
        self,
        uow: PaymentUnitOfWork,
        policy: AccessPolicy,
        gateway: PaymentGateway,
        events: EventRelay,
        secret_box: SecretBox,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._gateway = gateway
        self._events = events
        self._secret_box = secret_box
        self._clock = clock

    async def execute(self, actor: User, payment_id: UUID) -> CreatedPaymentIntent:
        payment = await authorized_payment(self._uow, self._policy, actor, payment_id)
        refreshed = await self._refresh(payment)
        secret = refreshed.sealed_client_secret
        # An administrator may read anyone's payment, but only its owner may pay it.
        if secret is None or refreshed.user_id != actor.id:
            return CreatedPaymentIntent(refreshed, None)
        return CreatedPaymentIntent(refreshed, self._secret_box.open(secret))

    async def _refresh(self, payment: Payment) -> Payment:
        if payment.status.is_final:
            return payment  # nothing the provider says can change it
        asked_at = self._clock.now()  # what the provider says holds from (at least) then on
        try:
            intent = await self._gateway.retrieve_intent(payment.provider_id)
        except _CANNOT_REFRESH as exc:
            logger.warning(
                "payment status not refreshed; answering the stored one",
                extra={"payment_id": str(payment.id), "error": exc.code},
            )
            return payment
        observation = _news(payment, intent, asked_at)
        if observation is None:
            return payment
        now = self._clock.now()
        async with self._uow as uow:
            current = await uow.payments.get(payment.id)
            if current is None:
                return payment
            updated, event = await apply_observation(uow, current, observation, now)
            await uow.commit()
        if event is not None:
            await self._events.relay([event])
        return updated


def _news(payment: Payment, intent: ProviderIntent, now: datetime) -> StatusObservation | None:
    """What the provider's snapshot tells that we do not know yet, if anything."""
    if intent.status is None:
        return None  # a status we do not model moves nothing
    if not matches(payment, intent):
        logger.warning(
            "provider intent differs from our payment; not applied",
            extra={"payment_id": str(payment.id)},
        )
        return None
    # A snapshot shows the last failure for as long as the intent waits for a new payment
    # method: it is news only while we have not recorded it.
    failure = (
        intent.last_failure if intent.status is PaymentStatus.REQUIRES_PAYMENT_METHOD else None
    )
    if intent.status is payment.status and (
        failure is None or failure.code == payment.failure_code
    ):
        return None
    return StatusObservation(intent.status, observed_at=now, failure=failure)
