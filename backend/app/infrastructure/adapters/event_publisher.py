"""Domain events handed to handlers in this process, after the change that made them committed.

A later step carries them over Redis Streams through an outbox, so that other processes hear them
and none is lost to a crash between the commit and the publish; until then, this.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from app.application.interfaces.events import EventPublisher
from app.domain.events import DomainEvent

logger = logging.getLogger("strata.events")
EventHandler = Callable[[DomainEvent], Awaitable[None]]


class InProcessEventPublisher:
    def __init__(self) -> None:
        self._handlers: list[tuple[type[DomainEvent], EventHandler]] = []

    def subscribe(self, event_type: type[DomainEvent], handler: EventHandler) -> None:
        """Call `handler` with every published event of `event_type` or a subclass of it."""
        self._handlers.append((event_type, handler))

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            for event_type, handler in self._handlers:
                if not isinstance(event, event_type):
                    continue
                try:
                    await handler(event)
                except Exception:
                    # The change is committed; a failing handler must not turn it into an error.
                    logger.exception("event handler failed", extra={"event": event.name})


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
