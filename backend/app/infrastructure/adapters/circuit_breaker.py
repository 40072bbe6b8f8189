"""A circuit breaker: after N consecutive failures, stop calling a dependency for a cool-down.

Closed, it lets every call through and counts consecutive failures. At the threshold it opens:
calls are refused at once (the caller answers 503 with Retry-After) until the cool-down has
passed. Then it is half-open: one trial call goes through; its success closes the circuit, its
failure opens it for another cool-down. One breaker per process and dependency.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"circuit open; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._cooldown = cooldown_seconds
        self._monotonic = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._monotonic() - self._opened_at < self._cooldown:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def ensure_closed(self) -> None:
        """Raise CircuitOpenError while calls are refused (open, or half-open with its one trial
        already under way); claims nothing."""
        state = self.state
        if state is CircuitState.OPEN or (
            state is CircuitState.HALF_OPEN and self._trial_in_flight
        ):
            raise CircuitOpenError(self._retry_after())

    def before_call(self) -> None:
        """Let a call through or raise CircuitOpenError; when half-open, this call is the trial."""
        self.ensure_closed()
        if self.state is CircuitState.HALF_OPEN:
            self._trial_in_flight = True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_in_flight or self._failures >= self._threshold:
            self._opened_at = self._monotonic()
        self._trial_in_flight = False

    def record_abandoned(self) -> None:
        """The call ended with neither verdict (it was cancelled): a trial may be made again."""
        self._trial_in_flight = False

    def _retry_after(self) -> int:
        if self._opened_at is None:
            return 1
        remaining = self._cooldown - (self._monotonic() - self._opened_at)
        return max(1, math.ceil(remaining))
