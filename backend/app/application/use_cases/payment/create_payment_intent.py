"""Create a payment intent with the provider, at most once per idempotency key (API.md Payments).

With `product_id`, the price is the product's, read on the server; a client-sent amount or
currency that disagrees is refused. The provider is called outside any transaction of ours (it
may take seconds), with an idempotency key derived from our payment id, so neither our retries
nor the client's (under its idempotency key) can create a second intent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from app.application.idempotency import Claim, IdempotencyKeys, Replay, fingerprint
from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.payment import (
    IntentRequest,
    PaymentGateway,
    PaymentUnitOfWork,
    ProviderIntent,
)
from app.application.interfaces.security import SecretBox
from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.payment import (
    MAX_AMOUNT_CENTS,
    MIN_AMOUNT_CENTS,
    AmountMismatchError,
    Payment,
    PaymentStatus,
    normalise_currency,
    validate_metadata,
)
from app.domain.entities.user import User
from app.domain.errors import CodedError, InvalidValueError, PermissionDeniedError
from app.domain.value_objects.identifiers import new_id

PAYMENT = "payment"
# Our id travels in the provider's metadata, so its dashboard and events lead back to our row.
PAYMENT_ID_METADATA_KEY = "strata_payment_id"


@dataclass(frozen=True, slots=True)
class NewPaymentIntent:
    """The request as the client sent it (None: not sent)."""

    amount_cents: int | None = None
    currency: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    product_id: UUID | None = None

    def fingerprint(self) -> str:
        return fingerprint(
            {
                "amount_cents": self.amount_cents,
                "currency": self.currency.upper() if self.currency else None,
                "metadata": self.metadata,
                "product_id": self.product_id,
            }
        )


@dataclass(frozen=True, slots=True)
class CreatedPaymentIntent:
    payment: Payment
    client_secret: str | None

    def to_json(self) -> str:
        return json.dumps(
            {"payment": self.payment.model_dump(mode="json"), "client_secret": self.client_secret}
        )

    @classmethod
    def from_json(cls, text: str) -> CreatedPaymentIntent:
        stored: dict[str, Any] = json.loads(text)
        return cls(Payment.model_validate(stored["payment"]), stored["client_secret"])


@dataclass(frozen=True, slots=True)
class _Price:
    amount_cents: int
    currency: str


class CreatePaymentIntent:
    def __init__(
        self,
        uow: PaymentUnitOfWork,
        policy: AccessPolicy,
        gateway: PaymentGateway,
        idempotency_keys: IdempotencyKeys,
        secret_box: SecretBox,
        clock: Clock,
        *,
        default_currency: str,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._gateway = gateway
        self._keys = idempotency_keys
        self._secret_box = secret_box
        self._clock = clock
        self._default_currency = default_currency

    async def execute(
        self,
        actor: User,
        request: NewPaymentIntent,
        *,
        idempotency_key: str | None,
        context: RequestContext,
    ) -> CreatedPaymentIntent:
        if not await self._policy.allows(actor, "create", PAYMENT, owner_id=actor.id):
            raise PermissionDeniedError()
        self._gateway.ensure_available()
        price = await self._price(request)
        if idempotency_key is None:
            return await self._create(actor, request, price, None, context)
        outcome = await self._keys.claim(
            self._uow, actor.id, idempotency_key, request.fingerprint(), self._clock.now()
        )
        if isinstance(outcome, Replay):
            return CreatedPaymentIntent.from_json(outcome.result)
        try:
            return await self._create(actor, request, price, outcome, context)
        except CodedError:
            await self._keys.release(self._uow, outcome, self._clock.now())
            raise

    async def _price(self, request: NewPaymentIntent) -> _Price:
        """What the intent will be for, checked in full before the provider is asked."""
        try:
            validate_metadata(request.metadata)
        except ValueError as exc:
            raise InvalidValueError(field="metadata", reason=str(exc)) from exc
        if request.product_id is None:
            return self._requested_price(request)
        return await self._product_price(request, request.product_id)

    def _requested_price(self, request: NewPaymentIntent) -> _Price:
        """The amount the client sent, in its currency or else the default one."""
        if request.amount_cents is None:
            raise InvalidValueError(field="amount_cents", reason="is required without a product_id")
        if not MIN_AMOUNT_CENTS <= request.amount_cents <= MAX_AMOUNT_CENTS:
            raise InvalidValueError(
                field="amount_cents",
                reason=f"must be from {MIN_AMOUNT_CENTS} to {MAX_AMOUNT_CENTS}",
            )
        currency = request.currency or self._default_currency
        return _Price(request.amount_cents, _currency(currency))

    async def _product_price(self, request: NewPaymentIntent, product_id: UUID) -> _Price:
        """The product's price, read here; an amount or currency the client sent must agree."""
        async with self._uow as uow:
            product = await uow.products.get(product_id)
        if product is None:
            raise InvalidValueError(field="product_id", reason="does not name a product")
        if request.amount_cents is not None and request.amount_cents != product.price_cents:
            raise AmountMismatchError(
                field="amount_cents", reason=f"must be the product's price, {product.price_cents}"
            )
        if request.currency is not None and _currency(request.currency) != product.currency:
            raise AmountMismatchError(
                field="currency", reason=f"must be the product's currency, {product.currency}"
            )
        if not MIN_AMOUNT_CENTS <= product.price_cents <= MAX_AMOUNT_CENTS:
            raise InvalidValueError(
                field="product_id",
                reason=f"has a price outside {MIN_AMOUNT_CENTS}-{MAX_AMOUNT_CENTS} cents",
            )
        return _Price(product.price_cents, product.currency)

    async def _create(
        self,
        actor: User,
        request: NewPaymentIntent,
        price: _Price,
        claim: Claim | None,
        context: RequestContext,
    ) -> CreatedPaymentIntent:
        payment_id = claim.reserved_id if claim is not None else new_id()
        intent = await self._gateway.create_intent(
            IntentRequest(
                payment_id=payment_id,
                amount_cents=price.amount_cents,
                currency=price.currency,
                metadata={**request.metadata, PAYMENT_ID_METADATA_KEY: str(payment_id)},
            )
        )
        now = self._clock.now()
        payment = self._payment_of(intent, payment_id, actor, request, price, now)
        created = CreatedPaymentIntent(payment, intent.client_secret)
        async with self._uow as uow:
            await uow.payments.add(payment)
            if claim is not None:
                await self._keys.complete(uow, claim, created.to_json())
            await uow.audit_events.add(_creation_event(payment, actor, context, now))
            await uow.commit()
        return created

    def _payment_of(
        self,
        intent: ProviderIntent,
        payment_id: UUID,
        actor: User,
        request: NewPaymentIntent,
        price: _Price,
        now: datetime,
    ) -> Payment:
        """Our record of the intent the provider has just created, its client secret sealed."""
        return Payment.record(
            payment_id=payment_id,
            user_id=actor.id,
            provider_id=intent.provider_id,
            amount_cents=price.amount_cents,
            currency=price.currency,
            # A new intent waits for a payment method; one we cannot read is taken as that.
            status=intent.status or PaymentStatus.REQUIRES_PAYMENT_METHOD,
            metadata=request.metadata,
            product_id=request.product_id,
            sealed_client_secret=(
                self._secret_box.seal(intent.client_secret) if intent.client_secret else None
            ),
            now=now,
        )


def _creation_event(
    payment: Payment, actor: User, context: RequestContext, now: datetime
) -> AuditEvent:
    return AuditEvent.record(
        action="payment.create",
        now=now,
        actor_id=actor.id,
        target_type=PAYMENT,
        target_id=payment.id,
        ip=context.ip,
        request_id=context.request_id,
        details={"amount_cents": str(payment.amount_cents), "currency": payment.currency},
    )


def _currency(code: str) -> str:
    try:
        return normalise_currency(code)
    except ValueError as exc:
        raise InvalidValueError(field="currency", reason=str(exc)) from exc
