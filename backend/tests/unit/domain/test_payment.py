"""The payment's status machine (forward only), its metadata limits and the events it means."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.entities.payment import (
    FAILURE_MESSAGE_MAX_LENGTH,
    Payment,
    PaymentFailure,
    PaymentStatus,
    StatusObservation,
    normalise_currency,
    validate_metadata,
    whole_seconds,
)
from app.domain.errors import InvalidValueError
from app.domain.events.payment import (
    PaymentCanceled,
    PaymentEvent,
    PaymentFailed,
    PaymentProcessing,
    PaymentRequiresAction,
    PaymentSucceeded,
    event_for,
)
from tests.builders import make_payment
from tests.fakes import DEFAULT_NOW

S = PaymentStatus
ORDER = [
    S.REQUIRES_PAYMENT_METHOD,
    S.REQUIRES_CONFIRMATION,
    S.REQUIRES_ACTION,
    S.PROCESSING,
    S.SUCCEEDED,
]
NON_FINAL = [s for s in S if not s.is_final]
FINAL = [S.SUCCEEDED, S.CANCELED]
LATER = DEFAULT_NOW + timedelta(minutes=5)
DECLINED = PaymentFailure(code="card_declined", message="Your card was declined.")


def at(seconds: float) -> datetime:
    return DEFAULT_NOW + timedelta(seconds=seconds)


def observed(
    status: PaymentStatus, seconds: float = 1, failure: PaymentFailure | None = None
) -> StatusObservation:
    return StatusObservation(status, observed_at=at(seconds), failure=failure)


# ---------------------------------------------------------------- statuses


def test_the_statuses_rank_in_the_order_a_payment_moves_through_them() -> None:
    assert [s.rank for s in ORDER] == [0, 1, 2, 3, 4]
    assert S.CANCELED.rank == S.SUCCEEDED.rank


def test_only_succeeded_and_canceled_are_final() -> None:
    assert {s for s in S if s.is_final} == {S.SUCCEEDED, S.CANCELED}


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a in NON_FINAL for b in S if b.rank > a.rank],
)
def test_every_forward_move_applies(current: PaymentStatus, target: PaymentStatus) -> None:
    payment = make_payment(status=current)

    changed = payment.observe(observed(target), now=LATER)

    assert changed is not None
    assert changed.status is target


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a in NON_FINAL for b in S if b.rank <= a.rank],
)
def test_a_backward_or_repeated_move_is_ignored(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    payment = make_payment(status=current)

    assert payment.observe(observed(target, seconds=60), now=LATER) is None


@pytest.mark.parametrize("final", FINAL)
@pytest.mark.parametrize("target", list(S))
def test_a_final_status_never_changes(final: PaymentStatus, target: PaymentStatus) -> None:
    payment = make_payment(status=final)

    assert payment.observe(observed(target, seconds=60), now=LATER) is None
    assert payment.observe(observed(target, seconds=60, failure=DECLINED), now=LATER) is None


def test_an_observation_from_an_older_second_is_stale_and_ignored() -> None:
    payment = make_payment(status=S.REQUIRES_ACTION, status_observed_at=at(10))

    assert payment.observe(observed(S.PROCESSING, seconds=9.999), now=LATER) is None
    assert payment.observe(observed(S.PROCESSING, seconds=2), now=LATER) is None


def test_within_the_same_second_the_order_of_statuses_decides() -> None:
    payment = make_payment(status=S.REQUIRES_PAYMENT_METHOD, status_observed_at=at(10))

    processing = payment.observe(observed(S.PROCESSING, seconds=10.9), now=LATER)
    assert processing is not None
    assert processing.status is S.PROCESSING
    # An earlier status stamped in the same second arrives late: it is not news.
    assert processing.observe(observed(S.REQUIRES_ACTION, seconds=10.1), now=LATER) is None
    succeeded = processing.observe(observed(S.SUCCEEDED, seconds=10.2), now=LATER)
    assert succeeded is not None
    assert succeeded.status is S.SUCCEEDED


def test_the_observation_time_is_kept_in_whole_seconds() -> None:
    payment = make_payment()

    changed = payment.observe(observed(S.PROCESSING, seconds=3.75), now=LATER)

    assert changed is not None
    assert changed.status_observed_at == at(3)
    assert whole_seconds(at(3.75)) == at(3)


def test_a_change_bumps_the_version_and_updated_at_and_keeps_the_rest() -> None:
    payment = make_payment(metadata={"order": "42"})

    changed = payment.observe(observed(S.PROCESSING), now=LATER)

    assert changed is not None
    assert changed.version == payment.version + 1
    assert changed.updated_at == LATER
    assert changed.created_at == payment.created_at
    assert (changed.id, changed.user_id, changed.provider_id) == (
        payment.id,
        payment.user_id,
        payment.provider_id,
    )
    assert (changed.amount_cents, changed.currency, changed.metadata) == (
        1_999,
        "USD",
        {"order": "42"},
    )
    assert payment.status is S.REQUIRES_PAYMENT_METHOD  # the original is untouched (frozen)


@pytest.mark.parametrize("current", [S.REQUIRES_ACTION, S.PROCESSING, S.REQUIRES_PAYMENT_METHOD])
def test_a_failed_attempt_records_why_and_returns_to_requires_payment_method(
    current: PaymentStatus,
) -> None:
    payment = make_payment(status=current)

    changed = payment.observe(observed(S.REQUIRES_PAYMENT_METHOD, failure=DECLINED), now=LATER)

    assert changed is not None
    assert changed.status is S.REQUIRES_PAYMENT_METHOD
    assert changed.failure_code == "card_declined"
    assert changed.failure_message == "Your card was declined."
    assert changed.version == payment.version + 1


def test_a_stale_failure_is_ignored() -> None:
    payment = make_payment(status=S.PROCESSING, status_observed_at=at(10))

    assert payment.observe(observed(S.REQUIRES_PAYMENT_METHOD, 9, DECLINED), now=LATER) is None


def test_a_failure_message_is_cut_to_its_limit_and_an_empty_one_is_none() -> None:
    payment = make_payment(status=S.PROCESSING)

    long = payment.observe(
        observed(S.REQUIRES_PAYMENT_METHOD, failure=PaymentFailure("x", "m" * 900)), now=LATER
    )
    empty = payment.observe(
        observed(S.REQUIRES_PAYMENT_METHOD, failure=PaymentFailure(None, "")), now=LATER
    )

    assert long is not None
    assert long.failure_message == "m" * FAILURE_MESSAGE_MAX_LENGTH
    assert empty is not None
    assert (empty.failure_code, empty.failure_message) == (None, None)


# ---------------------------------------------------------------- property


observations = st.lists(
    st.builds(
        StatusObservation,
        status=st.sampled_from(list(S)),
        observed_at=st.integers(min_value=-5, max_value=60).map(lambda ms: at(ms / 4)),
        failure=st.none() | st.just(DECLINED),
    ),
    max_size=25,
)


def _walk(payment: Payment, sequence: list[StatusObservation]) -> list[Payment]:
    states = [payment]
    for step, observation in enumerate(sequence, start=1):
        changed = states[-1].observe(observation, now=LATER + timedelta(seconds=step))
        states.append(states[-1] if changed is None else changed)
    return states


@given(start=st.sampled_from(list(S)), sequence=observations)
def test_once_final_a_payment_never_changes_whatever_is_observed(
    start: PaymentStatus, sequence: list[StatusObservation]
) -> None:
    states = _walk(make_payment(status=start), sequence)

    first_final = next((i for i, p in enumerate(states) if p.status.is_final), None)
    if first_final is not None:
        assert all(p == states[first_final] for p in states[first_final:])
    assert all(b.version in (a.version, a.version + 1) for a, b in itertools.pairwise(states))
    assert all(b.status_observed_at >= a.status_observed_at for a, b in itertools.pairwise(states))


@given(
    start=st.sampled_from(list(S)),
    sequence=observations.map(
        lambda seq: [StatusObservation(o.status, o.observed_at) for o in seq]
    ),
)
def test_without_failures_the_rank_never_decreases(
    start: PaymentStatus, sequence: list[StatusObservation]
) -> None:
    states = _walk(make_payment(status=start), sequence)

    assert all(b.status.rank >= a.status.rank for a, b in itertools.pairwise(states))


# ---------------------------------------------------------------- metadata and currency


def test_metadata_within_the_limits_is_accepted() -> None:
    metadata = {f"k{i:02}".ljust(40, "x"): "v" * 500 for i in range(20)}

    assert validate_metadata(metadata) == metadata
    assert make_payment(metadata=metadata).metadata == metadata


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({f"k{i}": "v" for i in range(21)}, "at most 20 keys"),
        ({"k" * 41: "v"}, "at most 40 characters"),
        ({"key": "v" * 501}, "at most 500 characters"),
        ({"  ": "v"}, "blank"),
        ({"": "v"}, "blank"),
        ({"items[0]": "v"}, "square brackets"),
        ({"a]": "v"}, "square brackets"),
    ],
)
def test_metadata_beyond_the_providers_limits_is_refused(
    metadata: dict[str, str], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_metadata(metadata)
    with pytest.raises(InvalidValueError) as caught:
        Payment.record(
            payment_id=make_payment().id,
            user_id=make_payment().id,
            provider_id="pi_1",
            amount_cents=1_999,
            currency="USD",
            status=S.REQUIRES_PAYMENT_METHOD,
            metadata=metadata,
            product_id=None,
            sealed_client_secret=None,
            now=DEFAULT_NOW,
        )
    assert caught.value.field == "metadata"


@pytest.mark.parametrize(("code", "expected"), [("usd", "USD"), (" eur ", "EUR"), ("JPY", "JPY")])
def test_a_currency_is_normalised_to_upper_case(code: str, expected: str) -> None:
    assert normalise_currency(code) == expected
    assert make_payment(currency=code).currency == expected


@pytest.mark.parametrize("code", ["", "US", "DOLLAR", "XYZ", "12$"])
def test_a_currency_that_is_no_iso_4217_code_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        normalise_currency(code)


@pytest.mark.parametrize("amount", [49, 100_000_000])
def test_an_amount_outside_the_providers_range_is_refused(amount: int) -> None:
    with pytest.raises(ValueError, match="amount_cents"):
        make_payment(amount_cents=amount)


def test_a_recorded_payment_starts_at_version_1_observed_in_whole_seconds() -> None:
    now = at(0.5)
    payment = Payment.record(
        payment_id=make_payment().id,
        user_id=make_payment().id,
        provider_id="pi_1",
        amount_cents=50,
        currency="gbp",
        status=S.REQUIRES_PAYMENT_METHOD,
        metadata={"order": "7"},
        product_id=None,
        sealed_client_secret="sealed:s",
        now=now,
    )

    assert (payment.version, payment.currency, payment.created_at) == (1, "GBP", now)
    assert payment.status_observed_at == at(0)


# ---------------------------------------------------------------- events


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        (S.SUCCEEDED, PaymentSucceeded),
        (S.PROCESSING, PaymentProcessing),
        (S.REQUIRES_ACTION, PaymentRequiresAction),
        (S.CANCELED, PaymentCanceled),
    ],
)
def test_each_reported_status_means_its_event(
    status: PaymentStatus, event_type: type[PaymentEvent]
) -> None:
    payment = make_payment(status=status, amount_cents=2_500, currency="EUR")
    observation = observed(status, seconds=2)

    event = event_for(payment, observation)

    assert type(event) is event_type
    assert event == event_type(
        occurred_at=at(2),
        payment_id=payment.id,
        user_id=payment.user_id,
        amount_cents=2_500,
        currency="EUR",
    )
    assert event.name == event_type.__name__


@pytest.mark.parametrize("status", [S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION])
def test_statuses_before_any_attempt_mean_no_event(status: PaymentStatus) -> None:
    assert event_for(make_payment(status=status), observed(status)) is None


def test_a_failed_attempt_means_payment_failed_with_its_code() -> None:
    payment = make_payment(failure_code="card_declined")

    event = event_for(payment, observed(S.REQUIRES_PAYMENT_METHOD, seconds=3, failure=DECLINED))

    assert event == PaymentFailed(
        occurred_at=at(3),
        payment_id=payment.id,
        user_id=payment.user_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        failure_code="card_declined",
    )
