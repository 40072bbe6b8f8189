"""Stripe's signed webhooks, verified with the SDK's `WebhookSignature` (HMAC SHA-256).

The `Stripe-Signature` header is `t=<unix time>,v1=<hex>[,v1=<hex>...]`: Stripe signs with every
secret of an endpoint while one is being rolled, and any `v1` that matches will do. Several secrets
of ours (STRIPE_WEBHOOK_SECRET, comma-separated) are each tried, for the same reason on our side.
The SDK checks only that a timestamp is not too old; we refuse one more than the tolerance away
in either direction, so a signed body cannot be replayed later nor pre-dated.

We parse the header ourselves, strictly, and hand the SDK a header rebuilt from what we read: the
tolerance is then checked on exactly the `t` the signature is verified with. A header with a
repeated `t`, an item that is not `name=value`, an empty value or whitespace is refused (two
parsers reading one header differently is how an old event got past the tolerance on a fresh `t`).
Schemes other than `v1` are ignored, as Stripe's own libraries ignore them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.application.interfaces.payment import (
    InvalidWebhookSignatureError,
    MalformedWebhookError,
    PaymentProviderError,
    PaymentsNotConfiguredError,
    ProviderEvent,
    ProviderIntent,
)
from app.infrastructure.adapters.stripe_gateway import provider_intent

logger = logging.getLogger("strata.payments.stripe")
TOLERANCE_SECONDS = 300
EVENT_ID_MAX_LENGTH = 255
EVENT_TYPE_MAX_LENGTH = 100
SIGNATURE_SCHEME = "v1"
MAX_SIGNATURE_ITEMS = 32  # Stripe sends t, a v1 per secret being rolled, and in test mode a v0
MAX_TIMESTAMP_DIGITS = 12  # far beyond any tolerance of now; keeps int() of a huge value away


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
        signed = _signature(signature_header)
        if signed is None or abs(now.timestamp() - signed.timestamp) > self._tolerance:
            raise InvalidWebhookSignatureError()
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidWebhookSignatureError() from None  # Stripe signs UTF-8 JSON only
        header = signed.canonical_header()
        if not any(self._signed_with(secret, text, header) for secret in self._secrets):
            raise InvalidWebhookSignatureError()
        return _event(text)

    @staticmethod
    def _signed_with(secret: str, text: str, header: str) -> bool:
        import stripe  # noqa: PLC0415  (on the first event: the app starts without the SDK)

        try:
            # tolerance=None: the SDK would read the wall clock; we checked ours above.
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance=None)
        except stripe.SignatureVerificationError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class _SignatureHeader:
    timestamp: int
    signatures: tuple[str, ...]

    def canonical_header(self) -> str:
        """The header as the SDK should read it: our one timestamp and the v1 signatures only."""
        items = [f"t={self.timestamp}", *(f"{SIGNATURE_SCHEME}={s}" for s in self.signatures)]
        return ",".join(items)


def _signature(header: str) -> _SignatureHeader | None:
    """The timestamp and v1 signatures of a `Stripe-Signature` header; None if it is malformed."""
    items = header.split(",")
    if len(items) > MAX_SIGNATURE_ITEMS:
        return None
    timestamp: int | None = None
    signatures: list[str] = []
    for item in items:
        name, equals, value = item.partition("=")
        if not (equals and _is_token(name) and _is_token(value)):
            return None
        if name == "t":
            if timestamp is not None or not _is_decimal(value):
                return None  # a second `t`: which one was signed is not for us to guess
            timestamp = int(value)
        elif name == SIGNATURE_SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return _SignatureHeader(timestamp, tuple(signatures))


def _is_token(text: str) -> bool:
    """Visible ASCII without `=` or `,`: what Stripe writes on either side of an item's `=`."""
    return (
        bool(text) and text.isascii() and text.isprintable() and " " not in text and "=" not in text
    )


def _is_decimal(text: str) -> bool:
    """Unix seconds as Stripe writes them: ASCII digits, no sign, no leading zero, not huge."""
    return text.isdigit() and len(text) <= MAX_TIMESTAMP_DIGITS and (text == "0" or text[0] != "0")


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
