"""Stripe, through its official SDK's async client (`StripeClient` over HTTPX).

Every call has connect and read timeouts, goes through a circuit breaker, and is retried with
exponential backoff and full jitter on network errors, 429 and 5xx only: never on a 4xx, which
would fail again, nor on a read timeout, which would make the caller wait past its bound (the
idempotency key makes the client's own retry safe). A create carries an idempotency key derived
from our payment id, so no retry of ours or the client's can create a second intent.

What leaves here is plain DTOs and domain errors; no SDK object and no provider message (which may
quote our key) reaches a caller. Stripe's decline code does: it is meant for the payer.

The SDK (about 7 MiB) is imported and its client made on the first call, not at start-up: an API
process that takes no payment never carries it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from app.application.errors import ApplicationError
from app.application.interfaces.payment import (
    IntentRequest,
    PaymentDeclinedError,
    PaymentProviderError,
    PaymentProviderTimeoutError,
    PaymentProviderUnavailableError,
    PaymentRequestRejectedError,
    PaymentsNotConfiguredError,
    ProviderIntent,
)
from app.domain.entities.payment import PaymentFailure, PaymentStatus
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker, CircuitOpenError

logger = logging.getLogger("strata.payments.stripe")
IDEMPOTENCY_KEY_PREFIX = "strata-payment-"
_RATE_LIMITED_RETRY_AFTER_SECONDS = 5

if TYPE_CHECKING:
    import stripe


class StripePaymentGateway:
    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        connect_timeout_seconds: float,
        read_timeout_seconds: float,
        max_retries: int,
        retry_base_delay_seconds: float,
        retry_max_delay_seconds: float,
        breaker: CircuitBreaker,
    ) -> None:
        self._api_key = api_key
        self._api_base = api_base
        self._timeout = httpx.Timeout(read_timeout_seconds, connect=connect_timeout_seconds)
        self._sdk: tuple[stripe.HTTPXClient, stripe.StripeClient] | None = None
        self._attempts = max_retries + 1
        self._wait = wait_random_exponential(
            multiplier=retry_base_delay_seconds, max=retry_max_delay_seconds
        )
        self._breaker = breaker

    @property
    def _http(self) -> stripe.HTTPXClient:
        return self._connected()[0]

    @property
    def _client(self) -> stripe.StripeClient:
        return self._connected()[1]

    def _connected(self) -> tuple[stripe.HTTPXClient, stripe.StripeClient]:
        """The SDK's HTTP client and Stripe client, made on first use (synchronously, so once)."""
        if self._sdk is None:
            import stripe  # noqa: PLC0415

            http = stripe.HTTPXClient(timeout=self._timeout)
            client = stripe.StripeClient(
                self._api_key,
                http_client=http,
                base_addresses={"api": self._api_base},
                max_network_retries=0,  # ours below: bounded, jittered, and never on a 4xx
            )
            self._sdk = (http, client)
        return self._sdk

    def ensure_available(self) -> None:
        try:
            self._breaker.ensure_closed()
        except CircuitOpenError as exc:
            raise PaymentProviderUnavailableError(exc.retry_after_seconds) from None

    async def create_intent(self, request: IntentRequest) -> ProviderIntent:
        params: dict[str, Any] = {
            "amount": request.amount_cents,
            "currency": request.currency.lower(),
            "metadata": request.metadata,
            "automatic_payment_methods": {"enabled": True},
        }
        options: dict[str, Any] = {
            "idempotency_key": f"{IDEMPOTENCY_KEY_PREFIX}{request.payment_id}"
        }
        intent = await self._call(
            lambda: self._client.v1.payment_intents.create_async(params, options)  # type: ignore[arg-type]
        )
        return provider_intent(intent.to_dict())

    async def retrieve_intent(self, provider_id: str) -> ProviderIntent:
        intent = await self._call(
            lambda: self._client.v1.payment_intents.retrieve_async(provider_id)
        )
        return provider_intent(intent.to_dict())

    async def close(self) -> None:
        if self._sdk is not None:  # never used: nothing to close
            await self._sdk[0].close_async()  # type: ignore[no-untyped-call]

    async def _call(self, request: Callable[[], Awaitable[Any]]) -> Any:
        import stripe  # noqa: PLC0415

        try:
            self._breaker.before_call()
        except CircuitOpenError as exc:
            raise PaymentProviderUnavailableError(exc.retry_after_seconds) from None
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=self._wait,
                retry=retry_if_exception(_is_transient),
                reraise=True,
            ):
                with attempt:
                    result = await request()
        except stripe.StripeError as exc:
            error = _provider_error(exc)
            if _counts_against_provider(exc):
                self._breaker.record_failure()
            else:
                self._breaker.record_success()  # a refusal is an answer: Stripe is up
            raise error from None
        except BaseException:
            self._breaker.record_abandoned()
            raise
        self._breaker.record_success()
        return result


def _timed_out(exc: stripe.StripeError) -> bool:
    import stripe  # noqa: PLC0415

    return isinstance(exc, stripe.APIConnectionError) and isinstance(
        exc.__cause__, httpx.TimeoutException
    )


def _is_transient(exc: BaseException) -> bool:
    """Worth another attempt: the network failed before an answer, Stripe asked us to slow
    down, or Stripe failed. Not a read timeout: Stripe may still be working on it."""
    import stripe  # noqa: PLC0415

    if isinstance(exc, stripe.APIConnectionError):
        cause = exc.__cause__
        return not isinstance(cause, httpx.TimeoutException) or isinstance(
            cause, httpx.ConnectTimeout
        )
    if isinstance(exc, stripe.RateLimitError):
        return True
    return isinstance(exc, stripe.StripeError) and (exc.http_status or 0) >= 500


def _counts_against_provider(exc: stripe.StripeError) -> bool:
    import stripe  # noqa: PLC0415

    return (
        _is_transient(exc)
        or _timed_out(exc)
        or not isinstance(
            exc,
            stripe.CardError | stripe.InvalidRequestError | stripe.IdempotencyError,
        )
    )


def _provider_error(exc: stripe.StripeError) -> ApplicationError:
    # Log what an operator needs (type, status, Stripe's request id), never the message: an
    # authentication error quotes part of the key.
    import stripe  # noqa: PLC0415

    logger.warning(
        "stripe call failed",
        extra={
            "error": type(exc).__name__,
            "http_status": exc.http_status,
            "stripe_code": exc.code,
            "stripe_request_id": exc.request_id,
        },
    )
    if isinstance(exc, stripe.CardError):
        error = exc.error
        decline_code = getattr(error, "decline_code", None) if error is not None else None
        return PaymentDeclinedError(decline_code=decline_code or exc.code or "card_declined")
    if isinstance(exc, stripe.InvalidRequestError):
        return PaymentRequestRejectedError(provider_code=exc.code or "invalid_request")
    if _timed_out(exc):
        return PaymentProviderTimeoutError()
    if isinstance(exc, stripe.RateLimitError):
        return PaymentProviderUnavailableError(_RATE_LIMITED_RETRY_AFTER_SECONDS)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        logger.error("stripe refused our API key: check STRIPE_SECRET_KEY")
    return PaymentProviderError()


def provider_intent(intent: Mapping[str, Any]) -> ProviderIntent:
    """A ProviderIntent from Stripe's payment intent object (SDK object or parsed JSON)."""
    try:
        provider_id = intent["id"]
        amount = intent["amount"]
        currency = intent["currency"]
        status = intent.get("status")
        if not isinstance(provider_id, str) or not provider_id:
            raise TypeError("id")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("amount")
        if not isinstance(currency, str):
            raise TypeError("currency")
        client_secret = intent.get("client_secret")
        error = intent.get("last_payment_error")
    except (KeyError, TypeError, AttributeError) as exc:
        logger.warning("stripe answered a payment intent we cannot read", extra={"field": str(exc)})
        raise PaymentProviderError() from None
    return ProviderIntent(
        provider_id=provider_id,
        amount_cents=amount,
        currency=currency.upper(),
        status=_status(status),
        client_secret=client_secret if isinstance(client_secret, str) else None,
        last_failure=_failure(error),
    )


def _status(value: object) -> PaymentStatus | None:
    if not isinstance(value, str):
        return None
    try:
        return PaymentStatus(value)
    except ValueError:
        return None  # a status we do not model (requires_capture: we never ask for manual capture)


def _failure(error: object) -> PaymentFailure | None:
    if not isinstance(error, Mapping):
        return None
    code = error.get("decline_code") or error.get("code")
    message = error.get("message")
    return PaymentFailure(
        code=code if isinstance(code, str) else None,
        message=message if isinstance(message, str) else None,
    )


class UnconfiguredPaymentGateway:
    """Serves the port while STRIPE_SECRET_KEY is unset: every call is a 503 naming the setting,
    and the rest of the app runs."""

    def ensure_available(self) -> None:
        raise PaymentsNotConfiguredError("STRIPE_SECRET_KEY")

    async def create_intent(self, request: IntentRequest) -> ProviderIntent:
        raise PaymentsNotConfiguredError("STRIPE_SECRET_KEY")

    async def retrieve_intent(self, provider_id: str) -> ProviderIntent:
        raise PaymentsNotConfiguredError("STRIPE_SECRET_KEY")

    async def close(self) -> None:
        return None
