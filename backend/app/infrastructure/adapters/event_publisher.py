"""Domain events handed to handlers in this process, after the change that made them committed.

Embedded, the outbox relay hands every event to these handlers. Distributed, the relay appends
events to a Redis Stream instead, and each `strata worker` runs every subscription as a consumer
group of its own (`Subscription.group`), so each handler sees each event once across workers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.application.interfaces.events import EventPublisher
from app.domain.events import DomainEvent

logger = logging.getLogger("strata.events")
EventHandler = Callable[[DomainEvent], Awaitable[None]]


class HandledEvents(Protocol):
    """Told each handler's outcome, for metrics."""

    def handled(self, handler: str, outcome: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str  # stable across processes and releases: it names the handler's consumer group
    event_type: type[DomainEvent]
    handler: EventHandler

    def wants(self, event: DomainEvent) -> bool:
        return isinstance(event, self.event_type)


class InProcessEventPublisher:
    def __init__(self, observer: HandledEvents | None = None) -> None:
        self._subscriptions: list[Subscription] = []
        self._observer = observer

    def subscribe(
        self, event_type: type[DomainEvent], handler: EventHandler, *, name: str | None = None
    ) -> None:
        """Call `handler` with every published event of `event_type` or a subclass of it."""
        taken = {subscription.name for subscription in self._subscriptions}
        if name is not None and name in taken:
            raise ValueError(f"two event handlers are named {name!r}")
        if name is None:
            # Unnamed (tests): numbered in subscription order, which every process repeats.
            base = f"{getattr(handler, '__module__', '')}.{getattr(handler, '__qualname__', '')}"
            name = next(f"{base}#{n}" for n in range(len(taken) + 1) if f"{base}#{n}" not in taken)
        self._subscriptions.append(Subscription(name, event_type, handler))

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subscriptions)

    def observe(self, observer: HandledEvents) -> None:
        self._observer = observer

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            for subscription in self._subscriptions:
                if subscription.wants(event):
                    await self._call(subscription, event)

    async def _call(self, subscription: Subscription, event: DomainEvent) -> None:
        try:
            await subscription.handler(event)
        except Exception:
            # The change is committed; a failing handler must not turn it into an error.
            logger.exception(
                "event handler failed",
                extra={
                    "event": event.name,
                    "event_id": str(event.event_id),
                    "handler": subscription.name,
                },
            )
            self._count(subscription.name, "failed")
        else:
            self._count(subscription.name, "handled")

    def _count(self, handler: str, outcome: str) -> None:
        if self._observer is not None:
            self._observer.handled(handler, outcome)


class EventFanOut:
    """Hands events to several publishers in turn: the handlers that run in the relaying process
    (sending a job's id to the engine), then those that run wherever handlers run (here, or the
    stream workers read). A publisher that raises stops the relay, which leaves the events
    unpublished in the outbox, to go out again later: handlers are idempotent."""

    def __init__(self, *publishers: EventPublisher) -> None:
        self._publishers = publishers

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for publisher in self._publishers:
            await publisher.publish(events)
