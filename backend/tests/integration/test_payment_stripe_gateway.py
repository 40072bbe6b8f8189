"""The real StripePaymentGateway (the official SDK over HTTPX) against the local Stripe stand-in.

Nothing of the SDK is mocked: every call crosses 127.0.0.1, and the fake records what arrived.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields
from typing import Any
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio

from app.application.interfaces.payment import (
    IntentRequest,
    PaymentDeclinedError,
    PaymentProviderError,
    PaymentProviderTimeoutError,
    PaymentProviderUnavailableError,
    PaymentRequestRejectedError,
    ProviderIntent,
)
from app.domain.entities.payment import PaymentFailure, PaymentStatus
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker, CircuitState
from app.infrastructure.adapters.stripe_gateway import StripePaymentGateway
from tests.stripe_fake import DEFAULT_API_KEY, StripeFake

READ_TIMEOUT_SECONDS = 0.3
TIMEOUT_BOUND_SECONDS = 1.5
COOLDOWN_SECONDS = 0.2

GatewayFactory = Callable[..., StripePaymentGateway]


def intent_request(**overrides: Any) -> IntentRequest:
    values: dict[str, Any] = {
        "payment_id": uuid4(),
        "amount_cents": 2_500,
        "currency": "EUR",
        "metadata": {"order": "A-42", "note": "thanks"},
        **overrides,
    }
    return IntentRequest(**values)


@pytest_asyncio.fixture
async def make_gateway(stripe_fake: StripeFake) -> AsyncIterator[GatewayFactory]:
    """Builds gateways on the fake (small retry delays, a lenient breaker unless told), and
    closes them after the test."""
    built: list[StripePaymentGateway] = []

    def build(**overrides: Any) -> StripePaymentGateway:
        settings: dict[str, Any] = {
            "api_key": DEFAULT_API_KEY,
            "api_base": stripe_fake.url,
            "connect_timeout_seconds": 1.0,
            "read_timeout_seconds": 5.0,
            "max_retries": 2,
            "retry_base_delay_seconds": 0.01,
            "retry_max_delay_seconds": 0.05,
            "breaker": CircuitBreaker(failure_threshold=100, cooldown_seconds=30),
            **overrides,
        }
        gateway = StripePaymentGateway(**settings)
        built.append(gateway)
        return gateway

    yield build
    for gateway in built:
        await gateway.close()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> StripePaymentGateway:
    return make_gateway()


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def count_attempts(gateway: StripePaymentGateway) -> list[httpx.Request]:
    """Requests HTTPX sets out to send (also those that never reach a server), observed with an
    HTTPX event hook on the SDK's client; nothing is replaced."""
    attempts: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        attempts.append(request)

    client: httpx.AsyncClient = gateway._http._client_async  # observed only
    client.event_hooks["request"].append(record)
    return attempts


def assert_plain(error: BaseException) -> None:
    """A domain error with nothing of the SDK attached to it."""
    assert error.__cause__ is None
    assert error.__suppress_context__ is True
    assert all(type(value).__module__.split(".")[0] != "stripe" for value in vars(error).values())


async def timed_raise(
    call: Callable[[], Awaitable[object]], error: type[Exception]
) -> tuple[Exception, float]:
    """The error `call` raises, and how long it took to raise it."""
    started = time.monotonic()
    with pytest.raises(error) as caught:
        await call()
    return caught.value, time.monotonic() - started


# ---------------------------------------------------------------- the happy path


async def test_creating_an_intent_sends_stripes_form_with_our_key_and_idempotency_key(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    request = intent_request()

    intent = await gateway.create_intent(request)

    [sent] = stripe_fake.creates()
    assert sent.form == {
        "amount": "2500",
        "currency": "eur",
        "metadata[order]": "A-42",
        "metadata[note]": "thanks",
        "automatic_payment_methods[enabled]": "true",
    }
    assert sent.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"
    assert sent.headers["idempotency-key"] == f"strata-payment-{request.payment_id}"
    assert sent.headers["content-type"].startswith("application/x-www-form-urlencoded")
    stored = stripe_fake.intents[intent.provider_id]
    assert intent == ProviderIntent(
        provider_id=stored["id"],
        amount_cents=2_500,
        currency="EUR",
        status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
        client_secret=stored["client_secret"],
        last_failure=None,
    )


async def test_what_comes_back_is_a_plain_dto_without_sdk_objects(
    gateway: StripePaymentGateway,
) -> None:
    intent = await gateway.create_intent(intent_request())

    assert type(intent) is ProviderIntent
    values = {field.name: getattr(intent, field.name) for field in fields(ProviderIntent)}
    assert type(values["provider_id"]) is str
    assert type(values["amount_cents"]) is int
    assert type(values["currency"]) is str
    assert type(values["client_secret"]) is str
    assert isinstance(values["status"], PaymentStatus)
    assert all(type(value).__module__.split(".")[0] != "stripe" for value in values.values())


async def test_creating_twice_for_one_payment_makes_one_intent(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    request = intent_request()

    first = await gateway.create_intent(request)
    second = await gateway.create_intent(request)

    assert second == first
    assert len(stripe_fake.creates()) == 2
    assert list(stripe_fake.intents) == [first.provider_id]


async def test_retrieving_reads_the_intent_as_stripe_has_it_now(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    created = await gateway.create_intent(intent_request())
    stripe_fake.set_status(
        created.provider_id,
        "requires_payment_method",
        last_payment_error={
            "code": "card_declined",
            "decline_code": "expired_card",
            "message": "Expired.",
        },
    )

    failed = await gateway.retrieve_intent(created.provider_id)
    stripe_fake.set_status(created.provider_id, "succeeded")
    succeeded = await gateway.retrieve_intent(created.provider_id)

    assert failed.last_failure == PaymentFailure(code="expired_card", message="Expired.")
    assert succeeded.status is PaymentStatus.SUCCEEDED
    assert succeeded.last_failure is None
    assert (succeeded.provider_id, succeeded.amount_cents, succeeded.currency) == (
        created.provider_id,
        2_500,
        "EUR",
    )
    gets = [r for r in stripe_fake.requests if r.method == "GET"]
    assert [r.path for r in gets] == [f"/v1/payment_intents/{created.provider_id}"] * 2
    assert all(r.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}" for r in gets)


async def test_retrieving_an_unknown_intent_is_a_rejected_request(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    with pytest.raises(PaymentRequestRejectedError) as caught:
        await gateway.retrieve_intent("pi_unknown")

    assert caught.value.params == {"provider_code": "resource_missing"}
    assert len(stripe_fake.requests) == 1


# ---------------------------------------------------------------- time limits and retries


async def test_a_slow_stripe_is_a_timeout_within_the_bound_and_is_not_retried(
    make_gateway: GatewayFactory, stripe_fake: StripeFake
) -> None:
    gateway = make_gateway(read_timeout_seconds=READ_TIMEOUT_SECONDS, max_retries=3)
    stripe_fake.delay_next(3.0)

    error, elapsed = await timed_raise(
        lambda: gateway.create_intent(intent_request()),
        PaymentProviderTimeoutError,
    )

    assert READ_TIMEOUT_SECONDS <= elapsed < TIMEOUT_BOUND_SECONDS
    assert len(stripe_fake.creates()) == 1
    assert_plain(error)


async def test_a_500_then_a_200_succeeds_on_the_retry_with_one_intent(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    stripe_fake.fail_next(1, status=500)
    request = intent_request()

    intent = await gateway.create_intent(request)

    creates = stripe_fake.creates()
    assert len(creates) == 2
    assert {r.headers["idempotency-key"] for r in creates} == {
        f"strata-payment-{request.payment_id}"
    }
    assert list(stripe_fake.intents) == [intent.provider_id]


async def test_a_429_then_a_200_succeeds_on_the_retry(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    stripe_fake.fail_next(1, status=429)

    intent = await gateway.create_intent(intent_request())

    assert len(stripe_fake.creates()) == 2
    assert list(stripe_fake.intents) == [intent.provider_id]


async def test_429s_past_the_retries_make_the_provider_unavailable(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    stripe_fake.fail_next(3, status=429)

    with pytest.raises(PaymentProviderUnavailableError) as caught:
        await gateway.create_intent(intent_request())

    assert caught.value.retry_after_seconds >= 1
    assert len(stripe_fake.creates()) == 3
    assert stripe_fake.intents == {}


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_5xx_past_the_retries_is_a_provider_error_after_max_retries_plus_one_requests(
    make_gateway: GatewayFactory, stripe_fake: StripeFake, max_retries: int
) -> None:
    gateway = make_gateway(max_retries=max_retries)
    stripe_fake.fail_next(max_retries + 1, status=503)

    with pytest.raises(PaymentProviderError) as caught:
        await gateway.create_intent(intent_request())

    assert type(caught.value) is PaymentProviderError
    assert len(stripe_fake.creates()) == max_retries + 1
    assert stripe_fake.intents == {}
    assert_plain(caught.value)


async def test_an_invalid_request_is_rejected_at_once_without_a_retry(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    with pytest.raises(PaymentRequestRejectedError) as caught:
        await gateway.create_intent(intent_request(amount_cents=10))

    assert caught.value.params == {"provider_code": "amount_too_small"}
    assert len(stripe_fake.creates()) == 1
    assert_plain(caught.value)


async def test_a_card_error_is_a_decline_with_stripes_decline_code(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    stripe_fake.decline_next("insufficient_funds")

    with pytest.raises(PaymentDeclinedError) as caught:
        await gateway.create_intent(intent_request())

    assert caught.value.params == {"decline_code": "insufficient_funds"}
    assert len(stripe_fake.creates()) == 1
    assert_plain(caught.value)


async def test_a_body_that_is_not_json_is_a_provider_error(
    gateway: StripePaymentGateway, stripe_fake: StripeFake
) -> None:
    stripe_fake.malformed_next()

    with pytest.raises(PaymentProviderError) as caught:
        await gateway.create_intent(intent_request())

    assert type(caught.value) is PaymentProviderError
    assert_plain(caught.value)


async def test_a_wrong_api_key_is_a_provider_error_and_the_key_is_never_logged(
    make_gateway: GatewayFactory, stripe_fake: StripeFake, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "sk_test_wrong_key_Zq81vXkP3mTz"
    gateway = make_gateway(api_key=wrong_key)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PaymentProviderError) as caught:
        await gateway.create_intent(intent_request())

    assert type(caught.value) is PaymentProviderError
    [sent] = stripe_fake.creates()  # a 401 is not retried
    assert sent.headers["authorization"] == f"Bearer {wrong_key}"
    assert any(record.name == "strata.payments.stripe" for record in caplog.records)
    logged = "\n".join([caplog.text, *(repr(vars(record)) for record in caplog.records)])
    assert wrong_key not in logged
    assert wrong_key[-8:] not in logged
    assert wrong_key not in str(caught.value)
    assert wrong_key not in repr(caught.value.params)


async def test_a_refused_connection_is_retried_then_a_provider_error(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(api_base=f"http://127.0.0.1:{closed_port()}", max_retries=2)
    attempts = count_attempts(gateway)

    with pytest.raises(PaymentProviderError) as caught:
        await gateway.create_intent(intent_request())

    assert type(caught.value) is PaymentProviderError
    assert len(attempts) == 3
    assert_plain(caught.value)


# ---------------------------------------------------------------- the circuit breaker


async def failing_call(gateway: StripePaymentGateway, stripe_fake: StripeFake) -> None:
    stripe_fake.fail_next(1, status=500)
    with pytest.raises(PaymentProviderError):
        await gateway.create_intent(intent_request())


async def test_the_breaker_opens_after_the_threshold_refuses_locally_then_closes_after_a_trial(
    make_gateway: GatewayFactory, stripe_fake: StripeFake
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=COOLDOWN_SECONDS)
    gateway = make_gateway(breaker=breaker, max_retries=0)
    created = await gateway.create_intent(intent_request())

    await failing_call(gateway, stripe_fake)
    gateway.ensure_available()  # one failure: still closed
    await failing_call(gateway, stripe_fake)
    seen = len(stripe_fake.requests)

    assert breaker.state is CircuitState.OPEN
    with pytest.raises(PaymentProviderUnavailableError) as refused:
        await gateway.create_intent(intent_request())
    with pytest.raises(PaymentProviderUnavailableError):
        await gateway.retrieve_intent(created.provider_id)
    with pytest.raises(PaymentProviderUnavailableError) as unavailable:
        gateway.ensure_available()
    assert refused.value.retry_after_seconds == 1
    assert unavailable.value.retry_after_seconds == 1
    assert len(stripe_fake.requests) == seen

    await asyncio.sleep(COOLDOWN_SECONDS + 0.05)
    gateway.ensure_available()  # half-open: a trial may go
    trial = await gateway.create_intent(intent_request())

    assert breaker.state is CircuitState.CLOSED
    assert len(stripe_fake.requests) == seen + 1
    assert trial.provider_id in stripe_fake.intents
    assert (await gateway.retrieve_intent(trial.provider_id)).provider_id == trial.provider_id


async def test_a_failed_trial_opens_the_breaker_for_another_cooldown(
    make_gateway: GatewayFactory, stripe_fake: StripeFake
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=COOLDOWN_SECONDS)
    gateway = make_gateway(breaker=breaker, max_retries=0)
    await failing_call(gateway, stripe_fake)
    await asyncio.sleep(COOLDOWN_SECONDS + 0.05)

    await failing_call(gateway, stripe_fake)

    assert breaker.state is CircuitState.OPEN
    seen = len(stripe_fake.requests)
    with pytest.raises(PaymentProviderUnavailableError):
        await gateway.create_intent(intent_request())
    assert len(stripe_fake.requests) == seen


async def test_a_read_timeout_counts_against_the_provider(
    make_gateway: GatewayFactory, stripe_fake: StripeFake
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30)
    gateway = make_gateway(breaker=breaker, read_timeout_seconds=READ_TIMEOUT_SECONDS)
    stripe_fake.delay_next(3.0)

    with pytest.raises(PaymentProviderTimeoutError):
        await gateway.create_intent(intent_request())

    assert breaker.state is CircuitState.OPEN


async def test_card_declines_and_rejected_requests_do_not_count_against_stripe(
    make_gateway: GatewayFactory, stripe_fake: StripeFake
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=30)
    gateway = make_gateway(breaker=breaker, max_retries=0)

    for _ in range(3):
        stripe_fake.decline_next("do_not_honor")
        with pytest.raises(PaymentDeclinedError):
            await gateway.create_intent(intent_request())
    with pytest.raises(PaymentRequestRejectedError):
        await gateway.create_intent(intent_request(amount_cents=10))
    assert breaker.state is CircuitState.CLOSED

    # A decline between two failures is an answer: the failures are not consecutive.
    await failing_call(gateway, stripe_fake)
    stripe_fake.decline_next("do_not_honor")
    with pytest.raises(PaymentDeclinedError):
        await gateway.create_intent(intent_request())
    await failing_call(gateway, stripe_fake)

    assert breaker.state is CircuitState.CLOSED
    gateway.ensure_available()
    intent = await gateway.create_intent(intent_request())
    assert intent.provider_id in stripe_fake.intents
