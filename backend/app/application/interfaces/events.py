"""Ports of domain events: the outbox a use case records them in, inside its own transaction,
and the relay that hands them to their handlers once that transaction is committed.

An event exists if and only if the change that made it was committed; a handler may see it more
than once (a crash between handling and marking it published), so handlers are idempotent: each
claims the event in `ProcessedEvents`, in the transaction that makes its effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.events import DomainEvent


class EventPublisher(Protocol):
    """Hands events to their handlers: in this process (embedded), or onto the Redis Stream
    that workers read (distributed)."""

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        """Hand every event on. A handler's failure is logged, never raised: it cannot undo the
        committed change. Raises only when the events could not be handed on at all (the stream
        is unreachable): the relay then leaves them unpublished, to go out later."""
        ...


class EventOutbox(Protocol):
    async def add(self, events: Sequence[DomainEvent], recorded_at: datetime) -> None:
        """Record the events in the unit of work's transaction: they leave only if it commits."""
        ...

    async def unpublished(
        self, limit: int, *, recorded_before: datetime | None = None
    ) -> list[DomainEvent]:
        """Events not yet handed to their handlers, oldest recorded first (and only those
        recorded before `recorded_before`, when given)."""
        ...

    async def mark_published(self, event_ids: Sequence[UUID], now: datetime) -> None: ...

    async def delete_published_before(self, cutoff: datetime) -> int:
        """Forget events handed out before `cutoff`; the number deleted."""
        ...

    async def published_since(
        self, cutoff: datetime, *, after: UUID | None, limit: int
    ) -> list[DomainEvent]:
        """Events handed out at or after `cutoff`, by id, those after `after` (a keyset page)."""
        ...

    async def oldest_unpublished_at(self) -> datetime | None:
        """When the oldest event still waiting to be handed out was recorded (the relay's lag)."""
        ...


class EventObserver(Protocol):
    """Told what the relay does, for metrics."""

    def published(self, events: Sequence[DomainEvent]) -> None: ...

    def lag(self, seconds: float) -> None: ...


class ProcessedEvents(Protocol):
    async def claim(self, handler: str, event_id: UUID, now: datetime) -> bool:
        """Record that `handler` handles `event_id`; False if it already has (a redelivery)."""
        ...

    async def delete_before(self, cutoff: datetime) -> int:
        """Forget claims made before `cutoff` (long after any redelivery); the number deleted."""
        ...


class OutboxUnitOfWork(UnitOfWork, Protocol):
    """What recording and relaying events touches."""

    @property
    def outbox(self) -> EventOutbox: ...


class EventHandlerUnitOfWork(UnitOfWork, Protocol):
    """What a handler needs to make its effect once: the record of what it has handled."""

    @property
    def processed_events(self) -> ProcessedEvents: ...


class EventsUnitOfWork(OutboxUnitOfWork, EventHandlerUnitOfWork, Protocol):
    """What the relay touches: the outbox, and the claims it forgets after their retention."""


class EventRelay(Protocol):
    async def relay(self, events: Sequence[DomainEvent]) -> None:
        """Hand these committed events to their handlers now (a use case calls it after its
        commit; what a crash leaves unpublished is handed out at start-up and periodically)."""
        ...
