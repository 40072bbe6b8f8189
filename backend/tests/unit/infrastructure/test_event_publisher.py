"""The in-process publisher: handlers by event type, and a failing handler isolated."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from app.domain.events import DomainEvent
from app.domain.events.payment import PaymentEvent, PaymentFailed, PaymentSucceeded
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.event_publisher import InProcessEventPublisher
from tests.fakes import DEFAULT_NOW


@dataclass(frozen=True, slots=True, kw_only=True)
class SomethingElseHappened(DomainEvent): ...


def succeeded() -> PaymentSucceeded:
    return PaymentSucceeded(
        occurred_at=DEFAULT_NOW,
        payment_id=new_id(),
        user_id=new_id(),
        amount_cents=1_999,
        currency="USD",
    )


def failed() -> PaymentFailed:
    return PaymentFailed(
        occurred_at=DEFAULT_NOW,
        payment_id=new_id(),
        user_id=None,
        amount_cents=500,
        currency="EUR",
        failure_code="card_declined",
    )


class RecordingHandler:
    def __init__(self, name: str, calls: list[tuple[str, DomainEvent]]) -> None:
        self._name = name
        self._calls = calls

    async def __call__(self, event: DomainEvent) -> None:
        self._calls.append((self._name, event))


class BrokenHandler:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, event: DomainEvent) -> None:
        self.calls += 1
        raise RuntimeError("the handler broke")


async def test_a_handler_gets_the_events_of_its_type_only() -> None:
    calls: list[tuple[str, DomainEvent]] = []
    publisher = InProcessEventPublisher()
    publisher.subscribe(PaymentSucceeded, RecordingHandler("succeeded", calls))
    publisher.subscribe(SomethingElseHappened, RecordingHandler("other", calls))
    first, second = succeeded(), failed()

    await publisher.publish([first, second])

    assert calls == [("succeeded", first)]


async def test_a_handler_of_a_base_type_gets_its_subclasses_too() -> None:
    calls: list[tuple[str, DomainEvent]] = []
    publisher = InProcessEventPublisher()
    publisher.subscribe(PaymentEvent, RecordingHandler("payments", calls))
    publisher.subscribe(DomainEvent, RecordingHandler("all", calls))
    first, second = succeeded(), failed()
    other = SomethingElseHappened(occurred_at=DEFAULT_NOW)

    await publisher.publish([first, other, second])

    assert calls == [
        ("payments", first),
        ("all", first),
        ("all", other),
        ("payments", second),
        ("all", second),
    ]


async def test_publishing_with_no_handler_does_nothing() -> None:
    await InProcessEventPublisher().publish([succeeded()])


async def test_a_failing_handler_is_logged_and_stops_neither_the_others_nor_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[tuple[str, DomainEvent]] = []
    broken = BrokenHandler()
    publisher = InProcessEventPublisher()
    publisher.subscribe(PaymentEvent, broken)
    publisher.subscribe(PaymentSucceeded, RecordingHandler("after", calls))
    first, second = succeeded(), succeeded()

    with caplog.at_level(logging.ERROR, logger="strata.events"):
        await publisher.publish([first, second])

    assert calls == [("after", first), ("after", second)]
    assert broken.calls == 2
    failures = [r for r in caplog.records if r.name == "strata.events"]
    assert len(failures) == 2
    assert all(r.levelno == logging.ERROR and r.exc_info is not None for r in failures)
    assert all(r.__dict__["event"] == "PaymentSucceeded" for r in failures)
    assert all(isinstance(r.exc_info[1], RuntimeError) for r in failures if r.exc_info)
