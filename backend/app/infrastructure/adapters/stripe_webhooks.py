"""Stripe's signed webhooks, verified with the SDK's `WebhookSignature` (HMAC SHA-256).

The `Stripe-Signature` header is `t=<unix time>,v1=<hex>[,v1=<hex>...]`: Stripe signs with every
secret of an endpoint while one is being rolled, and any `v1` that matches will do. Several secrets
of ours (STRIPE_WEBHOOK_SECRET, comma-separated) are each tried, for the same reason on our side.
The SDK checks only that a timestamp is not too old; we refuse one more than the tolerance away
in either direction, so a signed body cannot be replayed later nor pre-dated.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import stripe

from app.application.interfaces.payment import ProviderEvent, ProviderIntent
from app.domain.errors import (
    InvalidWebhookSignatureError,
    MalformedWebhookError,
    PaymentProviderError,
    PaymentsNotConfiguredError,
)
from app.infrastructure.adapters.stripe_gateway import provider_intent

logger = logging.getLogger("strata.payments.stripe")
TOLERANCE_SECONDS = 300
EVENT_ID_MAX_LENGTH = 255
EVENT_TYPE_MAX_LENGTH = 100


class StripeWebhookVerifier:
    def __init__(self, secrets: list[str], *, tolerance_seconds: int = TOLERANCE_SECONDS) -> None:
        self._secrets = [secret for secret in secrets if secret]
        self._tolerance = tolerance_seconds

    def verify(
        self, payload: bytes, signature_header: str | None, *, now: datetime
    ) -> ProviderEvent:
        if not self._secrets:
            raise PaymentsNotConfiguredError("STRIPE_WEBHOOK_SECRET")
        if not signature_header:
            raise InvalidWebhookSignatureError()
        timestamp = _timestamp(signature_header)
        if timestamp is None or abs(now.timestamp() - timestamp) > self._tolerance:
            raise InvalidWebhookSignatureError()
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidWebhookSignatureError() from None  # Stripe signs UTF-8 JSON only
        if not any(self._signed_with(secret, text, signature_header) for secret in self._secrets):
            raise InvalidWebhookSignatureError()
        return _event(text)

    @staticmethod
    def _signed_with(secret: str, text: str, header: str) -> bool:
        try:
            # tolerance=None: the SDK would read the wall clock; we checked ours above.
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance=None)
        except stripe.SignatureVerificationError:
            return False
        return True


def _timestamp(header: str) -> int | None:
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None
    return None


def _event(text: str) -> ProviderEvent:
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedWebhookError() from None
    if not isinstance(body, dict):
        raise MalformedWebhookError()
    event_id, event_type, created = body.get("id"), body.get("type"), body.get("created")
    if not (
        isinstance(event_id, str)
        and 0 < len(event_id) <= EVENT_ID_MAX_LENGTH
        and isinstance(event_type, str)
        and 0 < len(event_type) <= EVENT_TYPE_MAX_LENGTH
        and isinstance(created, int)
        and not isinstance(created, bool)
    ):
        raise MalformedWebhookError()
    try:
        created_at = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedWebhookError() from None
    return ProviderEvent(
        event_id=event_id,
        type=event_type,
        created_at=created_at,
        intent=_intent(event_type, body.get("data")),
        payload=text,
    )


def _intent(event_type: str, data: Any) -> ProviderIntent | None:
    """The payment intent a `payment_intent.*` event carries; None for other events."""
    if not event_type.startswith("payment_intent."):
        return None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or obj.get("object") != "payment_intent":
        raise MalformedWebhookError()
    try:
        return provider_intent(obj)
    except PaymentProviderError:
        raise MalformedWebhookError() from None
