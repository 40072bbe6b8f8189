"""Ports of payments: the payment provider, its signed webhooks, and where payments are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.domain.entities.payment import Payment, PaymentFailure, PaymentStatus


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
    domain errors: PaymentDeclinedError (402), PaymentRequestRejectedError (400),
    PaymentProviderError (502), PaymentProviderTimeoutError (504), and
    PaymentProviderUnavailableError or PaymentsNotConfiguredError (503, with Retry-After)."""

    def ensure_available(self) -> None:
        """Raise at once (503) if no call can be made now: not configured, or the circuit is open."""
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
