"""The circuit breaker's states, driven by a monotonic clock the test moves."""

from __future__ import annotations

import pytest

from app.infrastructure.adapters.circuit_breaker import (
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
)

THRESHOLD = 3
COOLDOWN = 30.0


class FakeMonotonic:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def breaker(clock: FakeMonotonic) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=THRESHOLD, cooldown_seconds=COOLDOWN, monotonic=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure()


def open_circuit(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD)
    assert breaker.state is CircuitState.OPEN


def test_a_new_breaker_is_closed_and_lets_calls_through(breaker: CircuitBreaker) -> None:
    assert breaker.state is CircuitState.CLOSED
    breaker.ensure_closed()
    breaker.before_call()
    breaker.before_call()


def test_it_stays_closed_below_the_threshold(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD - 1)

    assert breaker.state is CircuitState.CLOSED
    breaker.before_call()


def test_it_opens_after_the_threshold_of_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD)

    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    with pytest.raises(CircuitOpenError):
        breaker.ensure_closed()


def test_a_success_resets_the_count_of_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD - 1)
    breaker.before_call()
    breaker.record_success()
    fail(breaker, THRESHOLD - 1)

    assert breaker.state is CircuitState.CLOSED
    fail(breaker, 1)
    assert breaker.state is CircuitState.OPEN


def test_a_threshold_below_one_is_refused(clock: FakeMonotonic) -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0, cooldown_seconds=COOLDOWN, monotonic=clock)


@pytest.mark.parametrize(
    ("elapsed", "retry_after"),
    [(0.0, 30), (10.5, 20), (29.0, 1), (29.9, 1)],
)
def test_an_open_circuit_refuses_with_the_rest_of_the_cooldown_rounded_up(
    breaker: CircuitBreaker, clock: FakeMonotonic, elapsed: float, retry_after: int
) -> None:
    open_circuit(breaker)
    clock.advance(elapsed)

    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call()

    assert caught.value.retry_after_seconds == retry_after
    assert str(retry_after) in str(caught.value)


def test_after_the_cooldown_it_is_half_open_and_lets_exactly_one_trial_through(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    open_circuit(breaker)
    clock.advance(COOLDOWN)
    assert breaker.state is CircuitState.HALF_OPEN

    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call()  # a concurrent caller

    assert caught.value.retry_after_seconds >= 1
    with pytest.raises(CircuitOpenError):
        breaker.ensure_closed()


def test_ensure_closed_claims_no_trial(breaker: CircuitBreaker, clock: FakeMonotonic) -> None:
    open_circuit(breaker)
    clock.advance(COOLDOWN)

    breaker.ensure_closed()
    breaker.ensure_closed()
    breaker.before_call()  # the trial is still free

    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_a_successful_trial_closes_the_circuit(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    open_circuit(breaker)
    clock.advance(COOLDOWN)
    breaker.before_call()

    breaker.record_success()

    assert breaker.state is CircuitState.CLOSED
    breaker.before_call()
    breaker.before_call()
    fail(breaker, THRESHOLD - 1)  # the count started again from zero
    assert breaker.state is CircuitState.CLOSED


def test_a_failed_trial_reopens_the_circuit_for_a_full_cooldown(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    open_circuit(breaker)
    clock.advance(COOLDOWN + 5)
    breaker.before_call()

    breaker.record_failure()

    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call()
    assert caught.value.retry_after_seconds == 30
    clock.advance(COOLDOWN - 0.5)
    assert breaker.state is CircuitState.OPEN
    clock.advance(0.5)
    assert breaker.state is CircuitState.HALF_OPEN


def test_an_abandoned_trial_frees_the_trial_for_the_next_caller(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    open_circuit(breaker)
    clock.advance(COOLDOWN)
    breaker.before_call()

    breaker.record_abandoned()

    assert breaker.state is CircuitState.HALF_OPEN
    breaker.before_call()  # a new trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
