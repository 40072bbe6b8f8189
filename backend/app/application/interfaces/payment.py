"""Ports of payments: the payment provider, its signed webhooks, and where payments are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.application.errors import (
    DependencyUnavailableError,
    MalformedRequestError,
    PaymentRequiredError,
    RetryLaterError,
    UpstreamError,
    UpstreamTimeoutError,
)
from app.application.interfaces.access import PolicyRule
from app.application.interfaces.audit import AuditUnitOfWork
from app.application.interfaces.events import EventHandlerUnitOfWork, OutboxUnitOfWork
from app.application.interfaces.idempotency import IdempotencyUnitOfWork
from app.application.interfaces.product import ProductRepository
from app.domain.entities.payment import Payment, PaymentFailure, PaymentStatus

PAYMENT_OBJECT_TYPES = ("payment",)
# Users create and read their own payments; a payment changes only through the provider's webhooks.
PAYMENT_POLICY_RULES = tuple(
    PolicyRule("user", "payment", action, "own") for action in ("create", "read")
)


@dataclass(frozen=True, slots=True)
class IntentRequest:
    """What we ask the provider to create. `payment_id` is ours: the provider's idempotency key is
    derived from it, so however often the request is sent, at most one intent exists for it."""

    payment_id: UUID
    amount_cents: int
    currency: str  # ISO 4217, upper case
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class ProviderIntent:
    """A payment intent as the provider describes it (plain values, no SDK object)."""

    provider_id: str
    amount_cents: int
    currency: str  # ISO 4217, upper case
    status: PaymentStatus | None  # None: a status we do not model
    client_secret: str | None
    last_failure: PaymentFailure | None = None


class PaymentGateway(Protocol):
    """The payment provider. Every call has a timeout and bounded retries; failures surface as
    the errors below: PaymentDeclinedError, PaymentRequestRejectedError, PaymentProviderError,
    PaymentProviderTimeoutError, and PaymentProviderUnavailableError or PaymentsNotConfiguredError
    (both say when to retry)."""

    def ensure_available(self) -> None:
        """Raise at once if no call can be made now: not configured, or the circuit is open."""
        ...

    async def create_intent(self, request: IntentRequest) -> ProviderIntent: ...

    async def retrieve_intent(self, provider_id: str) -> ProviderIntent: ...


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified webhook event. `intent` is the payment intent it carries, for payment intent
    events; `payload` is the body exactly as received, kept in the inbox."""

    event_id: str
    type: str
    created_at: datetime
    intent: ProviderIntent | None
    payload: str


class WebhookVerifier(Protocol):
    def verify(
        self, payload: bytes, signature_header: str | None, *, now: datetime
    ) -> ProviderEvent:
        """The event, if the signature is the provider's and its timestamp is within the tolerance
        of `now` (either way); InvalidWebhookSignatureError otherwise, MalformedWebhookError for a
        signed body that is no event, PaymentsNotConfiguredError without a webhook secret."""
        ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> None: ...

    async def get(self, payment_id: UUID) -> Payment | None: ...

    async def get_by_provider_id(
        self, provider_id: str, *, for_update: bool = False
    ) -> Payment | None:
        """`for_update` locks the row until the transaction ends (PostgreSQL; SQLite's writers
        queue anyway), so two events for one payment apply one after the other."""
        ...

    async def replace(self, payment: Payment, *, expected_version: int) -> bool:
        """Store `payment` over the row still at `expected_version`; False if it changed."""
        ...

    async def list_page(
        self, *, user_id: UUID, after: UUID | None, limit: int
    ) -> list[Payment]: ...

    async def list_by_user(self, user_id: UUID) -> list[Payment]: ...

    async def anonymise_user(self, user_id: UUID, *, now: datetime) -> int:
        """Detach the user's payments from them (GDPR erasure): owner, metadata and client secret
        go; amounts, currencies, statuses and provider ids stay for accounting."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event in the inbox, unique by the provider's event id."""

    event_id: str
    type: str
    received_at: datetime
    payload: str
    processed_at: datetime | None = None
    outcome: str | None = None


class WebhookEventRepository(Protocol):
    async def add_if_absent(self, event: WebhookEvent) -> bool:
        """Record the event; False if its id was recorded before (a redelivery). A concurrent
        transaction recording the same id makes this wait for it to end."""
        ...

    async def mark_processed(self, event_id: str, *, outcome: str, now: datetime) -> None: ...

    async def get(self, event_id: str) -> WebhookEvent | None: ...

    async def drop_payloads_received_before(self, cutoff: datetime, *, limit: int) -> int:
        """Empty the payloads of up to `limit` events received before `cutoff` (they may carry
        billing details); their ids stay, to recognise a redelivery. The number emptied."""
        ...


class PaymentUnitOfWork(AuditUnitOfWork, IdempotencyUnitOfWork, OutboxUnitOfWork, Protocol):
    """What the payment feature's use cases touch; the products are read for their prices."""

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def webhook_events(self) -> WebhookEventRepository: ...

    @property
    def products(self) -> ProductRepository: ...


# Errors of the payment provider and its webhooks
class PaymentsNotConfiguredError(RetryLaterError):
    """A setting the payment provider needs is missing: `setting` names it."""

    code = "payment.not_configured"
    public_params = ("setting",)

    def __init__(self, setting: str) -> None:
        super().__init__(retry_after_seconds=300, setting=setting)


class PaymentProviderUnavailableError(DependencyUnavailableError):
    """The provider failed too often: calls are paused (circuit open) or it cannot be reached."""

    code = "payment.provider_unavailable"


class PaymentDeclinedError(PaymentRequiredError):
    """The provider declined the card; `decline_code` says why, as the provider put it."""

    code = "payment.declined"
    public_params = ("decline_code",)


class PaymentRequestRejectedError(MalformedRequestError):
    """The provider refused the request itself; `provider_code` says why."""

    code = "payment.request_rejected"
    public_params = ("provider_code",)


class PaymentProviderError(UpstreamError):
    code = "payment.provider_error"


class PaymentProviderTimeoutError(UpstreamTimeoutError):
    code = "payment.provider_timeout"


class InvalidWebhookSignatureError(MalformedRequestError):
    """Missing, malformed, wrong, or outside the 5-minute tolerance: one answer for all."""

    code = "webhook.invalid_signature"


class MalformedWebhookError(MalformedRequestError):
    code = "webhook.malformed"


class PaymentAuditUnitOfWork(AuditUnitOfWork, EventHandlerUnitOfWork, Protocol):
    """What recording a payment event in the audit trail touches (once per event)."""
