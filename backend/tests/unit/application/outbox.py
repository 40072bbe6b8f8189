"""What every use case that records a domain event promises, checked on the fakes."""

from __future__ import annotations

from app.domain.events import DomainEvent
from tests.fakes import FakeEventPublisher, FakeUnitOfWork


def assert_told_after_commit(
    uow: FakeUnitOfWork, events: FakeEventPublisher, expected: DomainEvent
) -> None:
    """`expected`, and nothing else, was committed to the outbox with the change, and that very
    event (same id) was relayed once, after the commit and outside any transaction."""
    assert uow.fake_outbox.committed_events == [expected]
    assert events.published == [expected]
    assert events.published[0].event_id == uow.fake_outbox.committed_events[0].event_id
    assert events.commits_at_publish == [uow.committed]
    assert not events.published_inside_transaction


def assert_nobody_told(uow: FakeUnitOfWork, events: FakeEventPublisher) -> None:
    assert uow.fake_outbox.committed_events == []
    assert events.published == []
