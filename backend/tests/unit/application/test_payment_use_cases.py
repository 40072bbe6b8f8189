"""Payments use cases with fakes: intents (with Idempotency-Key), webhooks, reads, audit, GDPR."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from app.application.idempotency import (
    DEFAULT_LOCK_DURATION,
    KEY_LIFETIME,
    IdempotencyKeyReusedError,
    IdempotencyKeys,
    IdempotentRequestInProgressError,
)
from app.application.interfaces.payment import (
    InvalidWebhookSignatureError,
    PaymentDeclinedError,
    PaymentProviderError,
    PaymentProviderTimeoutError,
    PaymentProviderUnavailableError,
    PaymentsNotConfiguredError,
    ProviderEvent,
    ProviderIntent,
)
from app.application.pagination import InvalidCursorError
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.use_cases.payment.create_payment_intent import (
    CreatedPaymentIntent,
    CreatePaymentIntent,
    NewPaymentIntent,
)
from app.application.use_cases.payment.get_payment_intent import GetPaymentIntent
from app.application.use_cases.payment.handle_webhook import HandleWebhook, WebhookOutcome
from app.application.use_cases.payment.list_payments import ListPayments
from app.application.use_cases.payment.record_payment_event import RecordPaymentEvent
from app.application.use_cases.privacy.erase_my_account import EraseMyAccount
from app.application.use_cases.privacy.export_my_data import ExportMyData
from app.domain.entities.audit import AuditOutcome
from app.domain.entities.payment import (
    AmountMismatchError,
    Payment,
    PaymentFailure,
    PaymentNotFoundError,
    PaymentStatus,
)
from app.domain.entities.product import Product
from app.domain.entities.user import User
from app.domain.errors import CodedError, InvalidValueError, PermissionDeniedError
from app.domain.events import DomainEvent
from app.domain.events.payment import PaymentFailed, PaymentProcessing, PaymentSucceeded
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.totp import PyotpAuthenticator
from tests.builders import make_payment, make_product, make_user
from tests.fakes import (
    DEFAULT_PASSWORD,
    FakeAccessPolicy,
    FakeClock,
    FakeEventPublisher,
    FakePasswordHasher,
    FakePaymentGateway,
    FakeSecretBox,
    FakeUnitOfWork,
    FakeWebhookVerifier,
    personal_data_holders,
)

CONTEXT = RequestContext(ip="192.0.2.7", request_id="req-pay")
KEY = "order-42-attempt"
DECLINED = PaymentFailure(code="card_declined", message="Your card was declined.")


@pytest.fixture
def alice() -> User:
    return make_user(email="alice@example.com")


@pytest.fixture
def bob() -> User:
    return make_user(email="bob@example.com")


@pytest.fixture
def gateway() -> FakePaymentGateway:
    return FakePaymentGateway()


@pytest.fixture
def secret_box() -> FakeSecretBox:
    return FakeSecretBox()


@pytest.fixture
def keys(secret_box: FakeSecretBox) -> IdempotencyKeys:
    return IdempotencyKeys(secret_box)


@pytest.fixture
def publisher(uow: FakeUnitOfWork) -> FakeEventPublisher:
    return FakeEventPublisher(uow)


@pytest.fixture
def product(uow: FakeUnitOfWork) -> Product:
    product = make_product(price_cents=4_200, currency="EUR")
    uow.fake_products.seed(product)
    return product


def create_intent(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    gateway: FakePaymentGateway,
    keys: IdempotencyKeys,
    *,
    policy: FakeAccessPolicy | None = None,
) -> CreatePaymentIntent:
    return CreatePaymentIntent(
        uow,
        policy if policy is not None else FakeAccessPolicy(),
        gateway,
        keys,
        FakeSecretBox(),
        clock,
        default_currency="USD",
    )


@pytest.fixture
def create(
    uow: FakeUnitOfWork, clock: FakeClock, gateway: FakePaymentGateway, keys: IdempotencyKeys
) -> CreatePaymentIntent:
    return create_intent(uow, clock, gateway, keys)


async def pay(
    create: CreatePaymentIntent,
    actor: User,
    request: NewPaymentIntent | None = None,
    *,
    key: str | None = None,
) -> CreatedPaymentIntent:
    return await create.execute(
        actor,
        request if request is not None else NewPaymentIntent(amount_cents=1_999),
        idempotency_key=key,
        context=CONTEXT,
    )


# ---------------------------------------------------------------- CreatePaymentIntent


async def test_creating_is_forbidden_when_the_policy_denies_and_nothing_is_stored(
    uow: FakeUnitOfWork, clock: FakeClock, gateway: FakePaymentGateway, keys: IdempotencyKeys
) -> None:
    create = create_intent(uow, clock, gateway, keys, policy=FakeAccessPolicy(rules=[]))

    with pytest.raises(PermissionDeniedError):
        await pay(create, make_user(), key=KEY)

    assert gateway.requests == []
    assert uow.committed == 0
    assert uow.fake_payments.committed == []
    assert uow.fake_idempotency_keys.committed == {}


async def test_creating_by_an_inactive_user_is_forbidden(
    create: CreatePaymentIntent, gateway: FakePaymentGateway
) -> None:
    with pytest.raises(PermissionDeniedError):
        await pay(create, make_user(is_active=False))

    assert gateway.requests == []


@pytest.mark.parametrize(
    "error",
    [
        PaymentsNotConfiguredError(setting="STRIPE_SECRET_KEY"),
        PaymentProviderUnavailableError(retry_after_seconds=30),
    ],
)
async def test_an_unavailable_provider_is_reported_before_any_call_or_claim(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    gateway: FakePaymentGateway,
    alice: User,
    error: CodedError,
) -> None:
    gateway.unavailable = error

    with pytest.raises(type(error)) as caught:
        await pay(create, alice, key=KEY)

    assert caught.value is error
    assert gateway.requests == []
    assert uow.fake_payments.committed == []
    assert uow.fake_idempotency_keys.committed == {}


async def test_an_amount_is_required_without_a_product(
    create: CreatePaymentIntent, uow: FakeUnitOfWork, gateway: FakePaymentGateway, alice: User
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await pay(create, alice, NewPaymentIntent(currency="USD"))

    assert caught.value.field == "amount_cents"
    assert gateway.requests == []
    assert uow.fake_payments.committed == []


async def test_an_invalid_currency_is_refused_naming_the_field(
    create: CreatePaymentIntent, gateway: FakePaymentGateway, alice: User
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await pay(create, alice, NewPaymentIntent(amount_cents=1_999, currency="XYZ"))

    assert caught.value.field == "currency"
    assert gateway.requests == []


async def test_the_currency_defaults_to_the_configured_one_and_is_upper_cased(
    create: CreatePaymentIntent, gateway: FakePaymentGateway, alice: User
) -> None:
    default = await pay(create, alice, NewPaymentIntent(amount_cents=1_999))
    lower = await pay(create, alice, NewPaymentIntent(amount_cents=1_999, currency="eur"))

    assert (default.payment.currency, lower.payment.currency) == ("USD", "EUR")
    assert [r.currency for r in gateway.requests] == ["USD", "EUR"]


async def test_the_products_price_is_used_when_only_a_product_is_named(
    create: CreatePaymentIntent, gateway: FakePaymentGateway, alice: User, product: Product
) -> None:
    created = await pay(create, alice, NewPaymentIntent(product_id=product.id))

    [request] = gateway.requests
    assert (request.amount_cents, request.currency) == (4_200, "EUR")
    payment = created.payment
    assert (payment.amount_cents, payment.currency, payment.product_id) == (
        4_200,
        "EUR",
        product.id,
    )


async def test_a_client_amount_and_currency_equal_to_the_products_are_accepted(
    create: CreatePaymentIntent, alice: User, product: Product
) -> None:
    created = await pay(
        create, alice, NewPaymentIntent(amount_cents=4_200, currency="eur", product_id=product.id)
    )

    assert (created.payment.amount_cents, created.payment.currency) == (4_200, "EUR")


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [(100, None, "amount_cents"), (None, "USD", "currency"), (4_200, "USD", "currency")],
)
async def test_an_amount_or_currency_that_disagrees_with_the_product_is_refused(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    gateway: FakePaymentGateway,
    alice: User,
    product: Product,
    amount: int | None,
    currency: str | None,
    field: str,
) -> None:
    request = NewPaymentIntent(amount_cents=amount, currency=currency, product_id=product.id)

    with pytest.raises(AmountMismatchError) as caught:
        await pay(create, alice, request, key=KEY)

    assert caught.value.field == field
    assert gateway.requests == []
    assert uow.fake_payments.committed == []
    assert uow.fake_idempotency_keys.committed == {}


async def test_an_unknown_product_is_refused_naming_product_id(
    create: CreatePaymentIntent, gateway: FakePaymentGateway, alice: User
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await pay(create, alice, NewPaymentIntent(product_id=make_product().id))

    assert type(caught.value) is InvalidValueError
    assert caught.value.field == "product_id"
    assert gateway.requests == []


async def test_our_payment_id_goes_to_the_provider_in_metadata_but_is_not_stored(
    create: CreatePaymentIntent, uow: FakeUnitOfWork, gateway: FakePaymentGateway, alice: User
) -> None:
    created = await pay(
        create, alice, NewPaymentIntent(amount_cents=1_999, metadata={"order": "42"})
    )

    [request] = gateway.requests
    assert request.payment_id == created.payment.id
    assert request.metadata == {"order": "42", "strata_payment_id": str(created.payment.id)}
    assert created.payment.metadata == {"order": "42"}
    assert uow.fake_payments.committed_row(created.payment.id).metadata == {"order": "42"}


async def test_the_payment_and_its_audit_event_are_committed_together(
    create: CreatePaymentIntent, uow: FakeUnitOfWork, gateway: FakePaymentGateway, alice: User
) -> None:
    created = await pay(create, alice)

    payment = created.payment
    intent = gateway.intents[payment.provider_id]
    assert uow.fake_payments.committed == [payment]
    assert payment.user_id == alice.id
    assert payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert payment.version == 1
    assert created.client_secret == intent.client_secret
    assert payment.sealed_client_secret == f"sealed:{intent.client_secret}"
    [event] = uow.fake_audit_events.committed
    assert event.action == "payment.create"
    assert (event.actor_id, event.target_type, event.target_id) == (
        alice.id,
        "payment",
        str(payment.id),
    )
    assert (event.ip, event.request_id) == ("192.0.2.7", "req-pay")
    assert event.details == {"amount_cents": "1999", "currency": "USD"}


async def test_an_intent_whose_status_we_do_not_model_is_stored_as_awaiting_a_payment_method(
    create: CreatePaymentIntent, gateway: FakePaymentGateway, alice: User
) -> None:
    gateway.status = None  # type: ignore[assignment]

    created = await pay(create, alice)

    assert created.payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD


async def test_a_declined_request_without_key_stores_nothing(
    create: CreatePaymentIntent, uow: FakeUnitOfWork, gateway: FakePaymentGateway, alice: User
) -> None:
    gateway.create_error = PaymentDeclinedError(decline_code="insufficient_funds")

    with pytest.raises(PaymentDeclinedError):
        await pay(create, alice)

    assert uow.committed == 0
    assert uow.fake_payments.committed == []
    assert uow.fake_audit_events.committed == []


# ---------------------------------------------------------------- Idempotency-Key


async def test_a_replay_with_the_same_key_and_body_returns_the_first_result_and_calls_nobody(
    create: CreatePaymentIntent, uow: FakeUnitOfWork, gateway: FakePaymentGateway, alice: User
) -> None:
    request = NewPaymentIntent(amount_cents=1_999, currency="usd", metadata={"order": "42"})
    first = await pay(create, alice, request, key=KEY)

    replay = await pay(create, alice, request, key=KEY)

    assert replay == first
    assert replay.client_secret == first.client_secret
    assert len(gateway.requests) == 1
    assert uow.fake_payments.committed == [first.payment]
    assert uow.fake_audit_events.actions == ["payment.create"]


async def test_the_stored_result_is_sealed(
    create: CreatePaymentIntent, uow: FakeUnitOfWork, alice: User
) -> None:
    first = await pay(create, alice, key=KEY)

    record = uow.fake_idempotency_keys.committed[(alice.id, KEY)]
    assert record.sealed_result is not None
    assert record.sealed_result.startswith("sealed:")
    assert CreatedPaymentIntent.from_json(FakeSecretBox().open(record.sealed_result)) == first
    assert record.reserved_id == first.payment.id


async def test_the_same_key_with_a_different_body_is_refused(
    create: CreatePaymentIntent, uow: FakeUnitOfWork, gateway: FakePaymentGateway, alice: User
) -> None:
    await pay(create, alice, NewPaymentIntent(amount_cents=1_999), key=KEY)

    with pytest.raises(IdempotencyKeyReusedError) as refused:
        await pay(create, alice, NewPaymentIntent(amount_cents=2_000), key=KEY)

    assert refused.value.field == "idempotency_key"  # how it travels is presentation's business
    assert len(gateway.requests) == 1
    assert len(uow.fake_payments.committed) == 1


async def test_keys_are_scoped_to_the_caller(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    gateway: FakePaymentGateway,
    alice: User,
    bob: User,
) -> None:
    mine = await pay(create, alice, key=KEY)
    theirs = await pay(create, bob, NewPaymentIntent(amount_cents=5_000), key=KEY)

    assert theirs.payment.id != mine.payment.id
    assert theirs.payment.user_id == bob.id
    assert len(gateway.requests) == 2


async def test_a_key_whose_first_request_is_still_running_is_refused(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    gateway: FakePaymentGateway,
    keys: IdempotencyKeys,
    alice: User,
) -> None:
    request = NewPaymentIntent(amount_cents=1_999)
    # The first request claimed the key and is still talking to the provider.
    await keys.claim(uow, alice.id, KEY, request.fingerprint(), clock.now())
    clock.advance(DEFAULT_LOCK_DURATION - timedelta(seconds=1))

    with pytest.raises(IdempotentRequestInProgressError):
        await pay(create, alice, request, key=KEY)

    assert gateway.requests == []
    assert uow.fake_payments.committed == []


async def test_a_provider_failure_releases_the_key_and_the_retry_reuses_the_reserved_id(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    gateway: FakePaymentGateway,
    alice: User,
) -> None:
    gateway.create_error = PaymentProviderTimeoutError()

    with pytest.raises(PaymentProviderTimeoutError):
        await pay(create, alice, key=KEY)

    record = uow.fake_idempotency_keys.committed[(alice.id, KEY)]
    assert record.sealed_result is None
    assert record.locked_until <= clock.now()  # released: a retry may run it
    assert uow.fake_payments.committed == []

    gateway.create_error = None
    clock.advance(timedelta(seconds=2))
    retried = await pay(create, alice, key=KEY)

    first_try, second_try = gateway.requests
    assert first_try.payment_id == second_try.payment_id == record.reserved_id
    assert retried.payment.id == record.reserved_id
    assert uow.fake_payments.committed == [retried.payment]


async def test_an_abandoned_claim_is_taken_over_once_its_lock_has_passed(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    gateway: FakePaymentGateway,
    keys: IdempotencyKeys,
    alice: User,
) -> None:
    request = NewPaymentIntent(amount_cents=1_999)
    # A request claimed the key, then its process died before completing or releasing it.
    claim = await keys.claim(uow, alice.id, KEY, request.fingerprint(), clock.now())
    clock.advance(DEFAULT_LOCK_DURATION + timedelta(seconds=1))

    created = await pay(create, alice, request, key=KEY)

    assert created.payment.id == claim.reserved_id  # type: ignore[union-attr]
    assert [r.payment_id for r in gateway.requests] == [claim.reserved_id]  # type: ignore[union-attr]
    assert uow.fake_idempotency_keys.committed[(alice.id, KEY)].sealed_result is not None


async def test_an_expired_key_starts_afresh(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    gateway: FakePaymentGateway,
    alice: User,
) -> None:
    first = await pay(create, alice, NewPaymentIntent(amount_cents=1_999), key=KEY)
    clock.advance(KEY_LIFETIME)

    again = await pay(create, alice, NewPaymentIntent(amount_cents=1_999), key=KEY)
    other_body = await pay(create, alice, NewPaymentIntent(amount_cents=2_500), key=f"{KEY}-2")

    assert again.payment.id != first.payment.id
    assert len(gateway.requests) == 3
    assert {p.id for p in uow.fake_payments.committed} == {
        first.payment.id,
        again.payment.id,
        other_body.payment.id,
    }


async def test_an_expired_key_may_be_used_with_a_different_body(
    create: CreatePaymentIntent, clock: FakeClock, gateway: FakePaymentGateway, alice: User
) -> None:
    await pay(create, alice, NewPaymentIntent(amount_cents=1_999), key=KEY)
    clock.advance(KEY_LIFETIME)

    created = await pay(create, alice, NewPaymentIntent(amount_cents=2_500), key=KEY)

    assert created.payment.amount_cents == 2_500
    assert len(gateway.requests) == 2


async def test_an_expired_key_not_yet_swept_is_taken_afresh_for_a_new_body(
    create: CreatePaymentIntent,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    gateway: FakePaymentGateway,
    alice: User,
) -> None:
    first = await pay(create, alice, NewPaymentIntent(amount_cents=1_999), key=KEY)
    clock.advance(KEY_LIFETIME)  # expired, still stored: the periodic sweep has not run yet
    assert (alice.id, KEY) in uow.fake_idempotency_keys.committed

    again = await pay(create, alice, NewPaymentIntent(amount_cents=2_500), key=KEY)

    assert again.payment.id != first.payment.id
    assert again.payment.amount_cents == 2_500
    record = uow.fake_idempotency_keys.committed[(alice.id, KEY)]
    assert record.reserved_id == again.payment.id
    assert len(gateway.requests) == 2


# ---------------------------------------------------------------- HandleWebhook


def provider_event(
    payment: Payment,
    event_type: str = "payment_intent.succeeded",
    *,
    at: datetime,
    event_id: str = "evt_1",
    failure: PaymentFailure | None = None,
    amount_cents: int | None = None,
    provider_id: str | None = None,
) -> ProviderEvent:
    intent = ProviderIntent(
        provider_id=provider_id or payment.provider_id,
        amount_cents=payment.amount_cents if amount_cents is None else amount_cents,
        currency=payment.currency,
        status=None,
        client_secret=None,
        last_failure=failure,
    )
    return ProviderEvent(
        event_id=event_id, type=event_type, created_at=at, intent=intent, payload=f"{{{event_id}}}"
    )


@pytest.fixture
def seeded(uow: FakeUnitOfWork, alice: User) -> Payment:
    payment = make_payment(user_id=alice.id)
    uow.fake_payments.seed(payment)
    return payment


@pytest.fixture
def verifier() -> FakeWebhookVerifier:
    return FakeWebhookVerifier()


@pytest.fixture
def webhook(
    uow: FakeUnitOfWork,
    verifier: FakeWebhookVerifier,
    publisher: FakeEventPublisher,
    clock: FakeClock,
) -> HandleWebhook:
    return HandleWebhook(uow, verifier, publisher, clock)


async def deliver(
    webhook: HandleWebhook, verifier: FakeWebhookVerifier, event: ProviderEvent
) -> WebhookOutcome:
    verifier.event = event
    return await webhook.execute(event.payload.encode(), "t=1,v1=sig")


async def test_a_webhook_is_applied_committed_recorded_and_then_published(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
) -> None:
    clock.advance(timedelta(seconds=30))
    event = provider_event(seeded, at=clock.now() - timedelta(seconds=2))

    outcome = await deliver(webhook, verifier, event)

    assert outcome is WebhookOutcome.APPLIED
    stored = uow.fake_payments.committed_row(seeded.id)
    assert stored is not None
    assert (stored.status, stored.version) == (PaymentStatus.SUCCEEDED, 2)
    assert stored.status_observed_at == event.created_at
    assert publisher.published == [
        PaymentSucceeded(
            occurred_at=event.created_at,
            payment_id=seeded.id,
            user_id=seeded.user_id,
            amount_cents=seeded.amount_cents,
            currency="USD",
        )
    ]
    assert publisher.commits_at_publish == [uow.committed]
    assert uow.committed >= 1
    assert publisher.published_inside_transaction is False
    # The event was recorded in the outbox by the transaction that applied it: one event, one id.
    assert uow.fake_outbox.committed_events == publisher.published
    assert uow.fake_outbox.committed_events[0].event_id == publisher.published[0].event_id
    inbox = uow.fake_webhook_events.committed["evt_1"]
    assert (inbox.outcome, inbox.processed_at) == ("applied", clock.now())
    assert (inbox.type, inbox.payload, inbox.received_at) == (
        "payment_intent.succeeded",
        event.payload,
        clock.now(),
    )
    assert verifier.verified == [(event.payload.encode(), "t=1,v1=sig", clock.now())]


async def test_a_redelivered_event_is_a_duplicate_and_publishes_nothing(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
) -> None:
    event = provider_event(seeded, "payment_intent.processing", at=clock.now())
    await deliver(webhook, verifier, event)
    clock.advance(timedelta(minutes=1))

    outcome = await deliver(webhook, verifier, event)

    assert outcome is WebhookOutcome.DUPLICATE
    assert len(publisher.published) == 1
    assert uow.fake_payments.committed_row(seeded.id).version == 2  # type: ignore[union-attr]
    inbox = uow.fake_webhook_events.committed["evt_1"]
    assert inbox.outcome == "applied"  # the first delivery's outcome stands
    assert inbox.processed_at == clock.now() - timedelta(minutes=1)


async def test_an_event_of_a_type_we_do_not_handle_is_recorded_as_ignored(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
) -> None:
    event = provider_event(seeded, "charge.refunded", at=clock.now())

    outcome = await deliver(webhook, verifier, event)

    assert outcome is WebhookOutcome.IGNORED_TYPE
    assert uow.fake_webhook_events.committed["evt_1"].outcome == "ignored_type"
    assert uow.fake_payments.committed_row(seeded.id) == seeded
    assert publisher.published == []


async def test_a_handled_type_without_an_intent_is_ignored(
    webhook: HandleWebhook, verifier: FakeWebhookVerifier, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    event = ProviderEvent(
        event_id="evt_9",
        type="payment_intent.succeeded",
        created_at=clock.now(),
        intent=None,
        payload="{}",
    )

    assert await deliver(webhook, verifier, event) is WebhookOutcome.IGNORED_TYPE
    assert uow.fake_webhook_events.committed["evt_9"].outcome == "ignored_type"


async def test_an_event_for_a_payment_we_do_not_know_is_recorded_as_unknown(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
) -> None:
    event = provider_event(seeded, at=clock.now(), provider_id="pi_someone_elses_shop")

    outcome = await deliver(webhook, verifier, event)

    assert outcome is WebhookOutcome.UNKNOWN_PAYMENT
    assert uow.fake_webhook_events.committed["evt_1"].outcome == "unknown_payment"
    assert uow.fake_payments.committed_row(seeded.id) == seeded
    assert publisher.published == []


async def test_an_event_whose_amount_differs_from_our_payment_changes_nothing(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
) -> None:
    event = provider_event(seeded, at=clock.now(), amount_cents=seeded.amount_cents + 1)

    outcome = await deliver(webhook, verifier, event)

    assert outcome is WebhookOutcome.MISMATCH
    assert uow.fake_webhook_events.committed["evt_1"].outcome == "amount_mismatch"
    assert uow.fake_payments.committed_row(seeded.id) == seeded
    assert publisher.published == []


async def test_a_stale_event_arriving_late_changes_nothing(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
) -> None:
    start = clock.now()
    processing = provider_event(
        seeded, "payment_intent.processing", at=start + timedelta(seconds=10), event_id="evt_2"
    )
    action = provider_event(
        seeded, "payment_intent.requires_action", at=start + timedelta(seconds=5), event_id="evt_1"
    )
    await deliver(webhook, verifier, processing)

    outcome = await deliver(webhook, verifier, action)

    assert outcome is WebhookOutcome.NO_CHANGE
    assert uow.fake_webhook_events.committed["evt_1"].outcome == "no_change"
    assert uow.fake_payments.committed_row(seeded.id).status is PaymentStatus.PROCESSING  # type: ignore[union-attr]
    assert [type(e) for e in publisher.published] == [PaymentProcessing]


async def test_a_late_processing_event_never_undoes_succeeded(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
) -> None:
    start = clock.now()
    await deliver(
        webhook,
        verifier,
        provider_event(seeded, at=start + timedelta(seconds=5), event_id="evt_ok"),
    )

    outcome = await deliver(
        webhook,
        verifier,
        provider_event(
            seeded,
            "payment_intent.processing",
            at=start + timedelta(seconds=9),
            event_id="evt_late",
        ),
    )

    assert outcome is WebhookOutcome.NO_CHANGE
    assert uow.fake_payments.committed_row(seeded.id).status is PaymentStatus.SUCCEEDED  # type: ignore[union-attr]
    assert [type(e) for e in publisher.published] == [PaymentSucceeded]


async def test_a_failed_payment_event_records_the_failure_code(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    alice: User,
) -> None:
    payment = make_payment(user_id=alice.id, status=PaymentStatus.PROCESSING)
    uow.fake_payments.seed(payment)
    event = provider_event(
        payment,
        "payment_intent.payment_failed",
        at=clock.now() + timedelta(seconds=1),
        failure=DECLINED,
    )

    outcome = await deliver(webhook, verifier, event)

    assert outcome is WebhookOutcome.APPLIED
    stored = uow.fake_payments.committed_row(payment.id)
    assert stored is not None
    assert stored.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert (stored.failure_code, stored.failure_message) == (
        "card_declined",
        "Your card was declined.",
    )
    [published] = publisher.published
    assert isinstance(published, PaymentFailed)
    assert published.failure_code == "card_declined"


async def test_a_signature_the_verifier_refuses_records_nothing(
    webhook: HandleWebhook, verifier: FakeWebhookVerifier, uow: FakeUnitOfWork, seeded: Payment
) -> None:
    verifier.error = InvalidWebhookSignatureError()

    with pytest.raises(InvalidWebhookSignatureError):
        await webhook.execute(b"{}", None)

    assert uow.fake_webhook_events.committed == {}
    assert uow.committed == 0


class CrashOnce:
    """Stands in for a repository method: the first call fails as a lost connection would."""

    def __init__(self, method: Callable[..., Awaitable[object]]) -> None:
        self._method = method
        self.crashes = 0

    async def __call__(self, *args: object, **kwargs: object) -> object:
        if self.crashes == 0:
            self.crashes += 1
            raise ConnectionError("the database went away")
        return await self._method(*args, **kwargs)


async def test_a_crash_between_recording_and_applying_leaves_nothing_and_the_retry_applies(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crash = CrashOnce(uow.fake_payments.replace)
    monkeypatch.setattr(uow.fake_payments, "replace", crash)
    event = provider_event(seeded, at=clock.now() + timedelta(seconds=1))

    with pytest.raises(ConnectionError):
        await deliver(webhook, verifier, event)

    assert crash.crashes == 1
    assert uow.committed == 0
    assert uow.fake_webhook_events.committed == {}
    assert uow.fake_payments.committed_row(seeded.id) == seeded
    assert publisher.published == []

    outcome = await deliver(webhook, verifier, event)  # the provider's redelivery

    assert outcome is WebhookOutcome.APPLIED
    assert uow.fake_payments.committed_row(seeded.id).status is PaymentStatus.SUCCEEDED  # type: ignore[union-attr]
    assert uow.fake_webhook_events.committed["evt_1"].outcome == "applied"
    assert [type(e) for e in publisher.published] == [PaymentSucceeded]


async def test_an_event_racing_another_change_of_the_payment_changes_nothing_twice(
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the event's transaction read is one version behind what another one committed.
    newer = seeded.model_copy(update={"version": seeded.version + 1})
    uow.fake_payments.seed(newer)

    async def stale_read(provider_id: str, *, for_update: bool = False) -> Payment:
        return seeded

    monkeypatch.setattr(uow.fake_payments, "get_by_provider_id", stale_read)

    outcome = await deliver(webhook, verifier, provider_event(seeded, at=clock.now()))

    assert outcome is WebhookOutcome.NO_CHANGE
    assert uow.fake_payments.committed_row(seeded.id) == newer
    assert publisher.published == []


# ---------------------------------------------------------------- GetPaymentIntent


@pytest.fixture
def get_intent(
    uow: FakeUnitOfWork,
    gateway: FakePaymentGateway,
    publisher: FakeEventPublisher,
    clock: FakeClock,
) -> GetPaymentIntent:
    return GetPaymentIntent(uow, FakeAccessPolicy(), gateway, publisher, FakeSecretBox(), clock)


async def test_returns_404_when_payment_belongs_to_someone_else(
    get_intent: GetPaymentIntent, gateway: FakePaymentGateway, seeded: Payment, bob: User
) -> None:
    gateway.report(seeded, PaymentStatus.SUCCEEDED)

    with pytest.raises(PaymentNotFoundError):
        await get_intent.execute(bob, seeded.id)

    assert gateway.retrieved == []


async def test_returns_404_when_payment_does_not_exist(
    get_intent: GetPaymentIntent, alice: User
) -> None:
    with pytest.raises(PaymentNotFoundError):
        await get_intent.execute(alice, make_payment().id)


async def test_an_admin_may_read_anyones_payment(
    get_intent: GetPaymentIntent, gateway: FakePaymentGateway, seeded: Payment
) -> None:
    from app.domain.entities.user import Role

    gateway.report(seeded, PaymentStatus.REQUIRES_PAYMENT_METHOD)

    read = await get_intent.execute(make_user(email="root@example.com", role=Role.ADMIN), seeded.id)

    assert read.payment == seeded


async def test_reading_applies_a_newer_provider_status_and_publishes_after_commit(
    get_intent: GetPaymentIntent,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    seeded: Payment,
    alice: User,
) -> None:
    gateway.report(seeded, PaymentStatus.SUCCEEDED)
    clock.advance(timedelta(seconds=3))

    read = await get_intent.execute(alice, seeded.id)

    assert read.payment.status is PaymentStatus.SUCCEEDED
    assert uow.fake_payments.committed_row(seeded.id) == read.payment
    assert read.payment.status_observed_at == clock.now()
    assert gateway.retrieved == [seeded.provider_id]
    assert [type(e) for e in publisher.published] == [PaymentSucceeded]
    assert publisher.commits_at_publish == [uow.committed]
    assert uow.committed == 1


async def test_reading_a_snapshot_with_nothing_new_commits_nothing(
    get_intent: GetPaymentIntent,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    publisher: FakeEventPublisher,
    seeded: Payment,
    alice: User,
) -> None:
    gateway.report(seeded, PaymentStatus.REQUIRES_PAYMENT_METHOD)

    read = await get_intent.execute(alice, seeded.id)

    assert read.payment == seeded
    assert uow.committed == 0
    assert publisher.published == []


async def test_a_snapshot_with_a_new_failure_records_it_once(
    get_intent: GetPaymentIntent,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    alice: User,
) -> None:
    payment = make_payment(user_id=alice.id, status=PaymentStatus.PROCESSING)
    uow.fake_payments.seed(payment)
    gateway.report(payment, PaymentStatus.REQUIRES_PAYMENT_METHOD, failure=DECLINED)
    clock.advance(timedelta(seconds=1))

    first = await get_intent.execute(alice, payment.id)
    clock.advance(timedelta(seconds=1))
    second = await get_intent.execute(alice, payment.id)

    assert first.payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert first.payment.failure_code == "card_declined"
    assert second.payment == first.payment
    assert [type(e) for e in publisher.published] == [PaymentFailed]


async def test_a_snapshot_whose_amount_differs_is_not_applied(
    get_intent: GetPaymentIntent,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    publisher: FakeEventPublisher,
    seeded: Payment,
    alice: User,
) -> None:
    gateway.report(seeded, PaymentStatus.SUCCEEDED, amount_cents=seeded.amount_cents * 2)

    read = await get_intent.execute(alice, seeded.id)

    assert read.payment == seeded
    assert uow.fake_payments.committed_row(seeded.id) == seeded
    assert publisher.published == []


async def test_a_status_we_do_not_model_moves_nothing(
    get_intent: GetPaymentIntent,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    seeded: Payment,
    alice: User,
) -> None:
    gateway.report(seeded, None)

    read = await get_intent.execute(alice, seeded.id)

    assert read.payment == seeded
    assert uow.committed == 0


@pytest.mark.parametrize(
    "error",
    [
        PaymentProviderUnavailableError(retry_after_seconds=30),
        PaymentProviderTimeoutError(),
        PaymentProviderError(),
        PaymentsNotConfiguredError(setting="STRIPE_SECRET_KEY"),
    ],
)
async def test_when_the_provider_is_down_the_stored_state_is_returned(
    get_intent: GetPaymentIntent,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    publisher: FakeEventPublisher,
    seeded: Payment,
    alice: User,
    error: CodedError,
) -> None:
    gateway.retrieve_error = error

    read = await get_intent.execute(alice, seeded.id)

    assert read.payment == seeded
    assert read.client_secret == f"{seeded.provider_id}_secret"
    assert gateway.retrieved == [seeded.provider_id]
    assert uow.committed == 0
    assert publisher.published == []


@pytest.mark.parametrize("final", [PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED])
async def test_a_final_payment_is_answered_without_asking_the_provider(
    get_intent: GetPaymentIntent,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    alice: User,
    final: PaymentStatus,
) -> None:
    payment = make_payment(user_id=alice.id, status=final)
    uow.fake_payments.seed(payment)

    read = await get_intent.execute(alice, payment.id)

    assert read.payment == payment
    assert gateway.retrieved == []


async def test_the_client_secret_is_opened_from_the_sealed_value(
    get_intent: GetPaymentIntent, gateway: FakePaymentGateway, uow: FakeUnitOfWork, alice: User
) -> None:
    sealed = make_payment(user_id=alice.id, sealed_client_secret="sealed:pi_abc_secret_xyz")
    without = make_payment(user_id=alice.id, sealed_client_secret=None)
    uow.fake_payments.seed(sealed, without)
    gateway.report(sealed, PaymentStatus.REQUIRES_PAYMENT_METHOD)
    gateway.report(without, PaymentStatus.REQUIRES_PAYMENT_METHOD)

    assert (await get_intent.execute(alice, sealed.id)).client_secret == "pi_abc_secret_xyz"
    assert (await get_intent.execute(alice, without.id)).client_secret is None


async def test_a_created_intent_reads_back_with_its_client_secret(
    create: CreatePaymentIntent, get_intent: GetPaymentIntent, alice: User
) -> None:
    created = await pay(create, alice)

    read = await get_intent.execute(alice, created.payment.id)

    assert read == created


async def test_a_success_webhook_is_not_lost_behind_a_snapshot_stamped_on_our_arrival(
    get_intent: GetPaymentIntent,
    webhook: HandleWebhook,
    verifier: FakeWebhookVerifier,
    gateway: FakePaymentGateway,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    publisher: FakeEventPublisher,
    alice: User,
) -> None:
    start = clock.now()  # 09:30:00
    payment = make_payment(user_id=alice.id, status=PaymentStatus.REQUIRES_ACTION)
    uow.fake_payments.seed(payment)
    # The provider reads "processing" at 09:30:00.9; the payment succeeds at 09:30:00.95 (its
    # event is stamped 09:30:00); the snapshot reaches us at 09:30:01.1, and is stamped then.
    gateway.report(payment, PaymentStatus.PROCESSING)
    clock.set(start + timedelta(seconds=1.1))
    await get_intent.execute(alice, payment.id)

    outcome = await deliver(webhook, verifier, provider_event(payment, at=start))

    # A final status is true forever once the provider reports it: it is never stale.
    assert outcome is WebhookOutcome.APPLIED
    stored = uow.fake_payments.committed_row(payment.id)
    assert stored is not None
    assert stored.status is PaymentStatus.SUCCEEDED
    assert [type(e) for e in publisher.published] == [PaymentProcessing, PaymentSucceeded]


# ---------------------------------------------------------------- ListPayments


async def test_the_callers_payments_are_listed_oldest_first_in_pages(
    uow: FakeUnitOfWork, alice: User, bob: User
) -> None:
    mine = [make_payment(user_id=alice.id) for _ in range(3)]
    uow.fake_payments.seed(*mine, make_payment(user_id=bob.id))
    list_payments = ListPayments(uow)

    first = await list_payments.execute(alice, limit=2, cursor=None)
    second = await list_payments.execute(alice, limit=2, cursor=first.next_cursor)

    assert first.items == mine[:2]
    assert first.next_cursor is not None
    assert second.items == mine[2:]
    assert second.next_cursor is None


async def test_an_exactly_full_page_has_no_next_cursor(uow: FakeUnitOfWork, alice: User) -> None:
    mine = [make_payment(user_id=alice.id) for _ in range(2)]
    uow.fake_payments.seed(*mine)

    page = await ListPayments(uow).execute(alice, limit=2, cursor=None)

    assert (page.items, page.next_cursor) == (mine, None)


async def test_someone_without_payments_gets_an_empty_page(
    uow: FakeUnitOfWork, alice: User, bob: User
) -> None:
    uow.fake_payments.seed(make_payment(user_id=alice.id))

    page = await ListPayments(uow).execute(bob, limit=20, cursor=None)

    assert (page.items, page.next_cursor) == ([], None)


@pytest.mark.parametrize("limit", [0, 101])
async def test_a_page_size_out_of_range_is_refused(
    uow: FakeUnitOfWork, alice: User, limit: int
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await ListPayments(uow).execute(alice, limit=limit, cursor=None)

    assert caught.value.field == "limit"


async def test_a_cursor_we_did_not_issue_is_refused(uow: FakeUnitOfWork, alice: User) -> None:
    with pytest.raises(InvalidCursorError):
        await ListPayments(uow).execute(alice, limit=20, cursor="not-a-cursor")


# ---------------------------------------------------------------- RecordPaymentEvent


async def test_a_payment_event_goes_into_the_audit_trail_without_an_actor(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    payment_id = make_payment().id
    event = PaymentSucceeded(
        occurred_at=clock.now(),
        payment_id=payment_id,
        user_id=None,
        amount_cents=1_999,
        currency="USD",
    )

    await RecordPaymentEvent(uow, clock)(event)

    [audit] = uow.fake_audit_events.committed
    assert audit.action == "payment.succeeded"
    assert (audit.actor_id, audit.target_type, audit.target_id) == (
        None,
        "payment",
        str(payment_id),
    )
    assert audit.outcome is AuditOutcome.SUCCESS
    assert audit.occurred_at == clock.now()
    assert audit.details == {"amount_cents": "1999", "currency": "USD"}


async def test_a_payment_event_delivered_twice_is_audited_once(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    event = PaymentSucceeded(
        occurred_at=clock.now(),
        payment_id=make_payment().id,
        user_id=None,
        amount_cents=1_999,
        currency="USD",
    )

    await RecordPaymentEvent(uow, clock)(event)
    await RecordPaymentEvent(uow, clock)(event)  # the relay handed it out again

    assert len(uow.fake_audit_events.committed) == 1
    assert (RecordPaymentEvent.HANDLER, event.event_id) in uow.fake_processed_events.committed


async def test_a_failed_payment_is_audited_as_a_failure_with_its_code(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    event = PaymentFailed(
        occurred_at=clock.now(),
        payment_id=make_payment().id,
        user_id=None,
        amount_cents=500,
        currency="EUR",
        failure_code="card_declined",
    )

    await RecordPaymentEvent(uow, clock)(event)

    [audit] = uow.fake_audit_events.committed
    assert (audit.action, audit.outcome) == ("payment.failed", AuditOutcome.FAILURE)
    assert audit.details == {
        "amount_cents": "500",
        "currency": "EUR",
        "failure_code": "card_declined",
    }


async def test_an_event_that_is_no_payment_event_is_not_audited(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    await RecordPaymentEvent(uow, clock)(DomainEvent(occurred_at=clock.now()))

    assert uow.fake_audit_events.committed == []
    assert uow.committed == 0


# ---------------------------------------------------------------- GDPR


KEY_RING = MasterKeyRing({"k1": b"k" * 32}, "k1")


def erase(uow: FakeUnitOfWork, clock: FakeClock) -> EraseMyAccount:
    second_factor = SecondFactor(PyotpAuthenticator("Strata"), AesGcmSecretBox(KEY_RING), clock)
    return EraseMyAccount(uow, personal_data_holders(), FakePasswordHasher(), second_factor, clock)


async def test_the_export_includes_the_callers_payments_only(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, bob: User
) -> None:
    uow.fake_users.seed(alice, bob)
    mine = [make_payment(user_id=alice.id), make_payment(user_id=alice.id, metadata={"order": "7"})]
    uow.fake_payments.seed(*mine, make_payment(user_id=bob.id))

    data = await ExportMyData(uow, personal_data_holders(), clock).execute(alice)

    assert data.sections["payments"] == mine


async def test_erasure_anonymises_the_payments_and_deletes_the_idempotency_keys(
    uow: FakeUnitOfWork, clock: FakeClock, keys: IdempotencyKeys, alice: User, bob: User
) -> None:
    uow.fake_users.seed(alice, bob)
    mine = make_payment(user_id=alice.id, metadata={"order": "7"})
    theirs = make_payment(user_id=bob.id, metadata={"order": "8"})
    uow.fake_payments.seed(mine, theirs)
    await keys.claim(uow, alice.id, "alice-key", "f" * 64, clock.now())
    await keys.claim(uow, bob.id, "bob-key", "f" * 64, clock.now())

    await erase(uow, clock).execute(alice, DEFAULT_PASSWORD, None, CONTEXT)

    anonymised = uow.fake_payments.committed_row(mine.id)
    assert anonymised is not None
    assert (anonymised.user_id, anonymised.metadata, anonymised.sealed_client_secret) == (
        None,
        {},
        None,
    )
    # What accounting needs stays.
    assert (
        anonymised.provider_id,
        anonymised.amount_cents,
        anonymised.currency,
        anonymised.status,
    ) == (
        mine.provider_id,
        mine.amount_cents,
        mine.currency,
        mine.status,
    )
    assert uow.fake_payments.committed_row(theirs.id) == theirs
    assert list(uow.fake_idempotency_keys.committed) == [(bob.id, "bob-key")]
