"""Composition of the payment feature: the Stripe adapters and the use cases routers depend on."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from app.application.interfaces.payment import (
    PaymentAuditUnitOfWork,
    PaymentUnitOfWork,
    WebhookVerifier,
)
from app.application.use_cases.payment.create_payment_intent import CreatePaymentIntent
from app.application.use_cases.payment.forget_webhook_payloads import ForgetWebhookPayloads
from app.application.use_cases.payment.get_payment_intent import GetPaymentIntent
from app.application.use_cases.payment.handle_webhook import HandleWebhook
from app.application.use_cases.payment.list_payments import ListPayments
from app.application.use_cases.payment.record_payment_event import RecordPaymentEvent
from app.core.config import Settings
from app.domain.events import DomainEvent
from app.domain.events.payment import PaymentEvent
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker
from app.infrastructure.adapters.stripe_gateway import (
    StripePaymentGateway,
    UnconfiguredPaymentGateway,
)
from app.infrastructure.adapters.stripe_webhooks import StripeWebhookVerifier
from app.presentation.api.metrics import HttpMetrics
from app.presentation.api.v1.dependencies.common import container_of
from app.presentation.container import Container, Provider, ProviderKey

# None while payments are not configured (no STRIPE_SECRET_KEY): nothing to break then.
PAYMENT_BREAKER = ProviderKey[CircuitBreaker | None]("payment.breaker")
PAYMENT_GATEWAY = ProviderKey[StripePaymentGateway | UnconfiguredPaymentGateway]("payment.gateway")
WEBHOOK_VERIFIER = ProviderKey[WebhookVerifier]("payment.webhook_verifier")


def build_breaker(container: Container) -> CircuitBreaker | None:
    settings = container.settings
    if not _stripe_configured(settings):
        return None
    return CircuitBreaker(
        failure_threshold=settings.stripe_breaker_failure_threshold,
        cooldown_seconds=settings.stripe_breaker_cooldown_seconds,
    )


def build_gateway(container: Container) -> StripePaymentGateway | UnconfiguredPaymentGateway:
    """Stripe when STRIPE_SECRET_KEY is set; otherwise every payment call answers 503."""
    settings = container.settings
    breaker = container.get(PAYMENT_BREAKER)
    if breaker is None or settings.stripe_secret_key is None:
        return UnconfiguredPaymentGateway()
    return StripePaymentGateway(
        api_key=settings.stripe_secret_key.get_secret_value(),
        api_base=settings.stripe_api_base,
        connect_timeout_seconds=settings.stripe_connect_timeout_seconds,
        read_timeout_seconds=settings.stripe_read_timeout_seconds,
        max_retries=settings.stripe_max_retries,
        retry_base_delay_seconds=settings.stripe_retry_base_delay_seconds,
        retry_max_delay_seconds=settings.stripe_retry_max_delay_seconds,
        breaker=breaker,
    )


def _stripe_configured(settings: Settings) -> bool:
    key = settings.stripe_secret_key
    return key is not None and bool(key.get_secret_value())


async def _close_gateway(gateway: StripePaymentGateway | UnconfiguredPaymentGateway) -> None:
    await gateway.close()


PROVIDERS = (
    Provider(key=PAYMENT_BREAKER, build=build_breaker),
    Provider(key=PAYMENT_GATEWAY, build=build_gateway, close=_close_gateway),
    Provider(
        key=WEBHOOK_VERIFIER,
        build=lambda container: StripeWebhookVerifier(container.settings.stripe_webhook_secrets),
    ),
)


def track_breaker(container: Container, metrics: HttpMetrics) -> None:
    breaker = container.get(PAYMENT_BREAKER)
    if breaker is not None:
        metrics.track_circuit("stripe", lambda: breaker.state.value)


def record_payment_events(container: Container) -> None:
    """Payment events reach the audit trail: one unit of work per event, as handlers of
    concurrent requests must not share one."""

    async def record(event: DomainEvent) -> None:
        await RecordPaymentEvent(container.unit_of_work(PaymentAuditUnitOfWork), container.clock)(
            event
        )

    container.event_publisher.subscribe(PaymentEvent, record, name="payment.audit")


async def get_create_payment_intent(request: Request) -> CreatePaymentIntent:
    container = container_of(request)
    return CreatePaymentIntent(
        container.unit_of_work(PaymentUnitOfWork),
        container.access_policy,
        container.get(PAYMENT_GATEWAY),
        container.idempotency_keys,
        container.secret_box,
        container.clock,
        default_currency=container.settings.stripe_default_currency,
    )


async def get_get_payment_intent(request: Request) -> GetPaymentIntent:
    container = container_of(request)
    return GetPaymentIntent(
        container.unit_of_work(PaymentUnitOfWork),
        container.access_policy,
        container.get(PAYMENT_GATEWAY),
        container.event_relay,
        container.secret_box,
        container.clock,
    )


async def get_list_payments(request: Request) -> ListPayments:
    return ListPayments(container_of(request).read_unit_of_work(PaymentUnitOfWork))


async def get_handle_webhook(request: Request) -> HandleWebhook:
    container = container_of(request)
    return HandleWebhook(
        container.unit_of_work(PaymentUnitOfWork),
        container.get(WEBHOOK_VERIFIER),
        container.event_relay,
        container.clock,
    )


CreatePaymentIntentDep = Annotated[CreatePaymentIntent, Depends(get_create_payment_intent)]
GetPaymentIntentDep = Annotated[GetPaymentIntent, Depends(get_get_payment_intent)]
ListPaymentsDep = Annotated[ListPayments, Depends(get_list_payments)]
HandleWebhookDep = Annotated[HandleWebhook, Depends(get_handle_webhook)]


class PaymentSettings(BaseModel):
    """`FEATURES__PAYMENT__<NAME>` settings."""

    model_config = ConfigDict(extra="forbid")

    # Days a webhook's payload (it may carry billing details) is kept; its id stays for good,
    # to recognise a redelivery.
    webhook_payload_retention_days: int = Field(default=30, ge=1, le=3_650)


def forget_webhook_payloads(container: Container) -> ForgetWebhookPayloads:
    days = container.settings_of(PaymentSettings).webhook_payload_retention_days
    return ForgetWebhookPayloads(
        lambda: container.unit_of_work(PaymentUnitOfWork), container.clock, timedelta(days=days)
    )
