"""The outbox relay: committed events go to their handlers, and none is lost to a crash.

A use case records its events in the outbox inside its own transaction, then, once committed,
asks the relay to hand exactly those events out. Whatever a crash left unpublished (the process
died between the commit and the hand-out) is found by `relay_leftovers`, which start-up and a
periodic task run; an event handed out twice is a no-op for handlers, which claim each event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventObserver, EventPublisher, EventsUnitOfWork
from app.domain.events import DomainEvent

logger = logging.getLogger("strata.events")

LEFTOVER_BATCH = 100
# Events younger than this are still being handed out by the request that recorded them.
LEFTOVER_AGE = timedelta(seconds=5)
# Published events and handlers' claims are kept this long, then forgotten.
RETENTION = timedelta(days=7)


class OutboxRelay:
    def __init__(
        self,
        unit_of_work: Callable[[], EventsUnitOfWork],
        handlers: EventPublisher,
        clock: Clock,
        observer: EventObserver | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._handlers = handlers
        self._clock = clock
        self._observer = observer
        self._leftovers_lock = asyncio.Lock()

    async def relay(self, events: Sequence[DomainEvent]) -> None:
        """Hand committed events to their handlers, then mark them published. Never raises:
        the change is committed, and its caller must not answer an error for it (a client would
        retry a change that was made). Events that could not go out (the stream unreachable,
        the database gone) stay unpublished, and the leftover relay sends them later."""
        try:
            await self._hand_out(events)
        except Exception as error:
            logger.warning(
                "events left in the outbox; relayed later",
                extra={"events": len(events), "error": type(error).__name__},
            )

    async def _hand_out(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        await self._handlers.publish(events)
        async with self._unit_of_work() as uow:
            await uow.outbox.mark_published([event.event_id for event in events], self._clock.now())
            await uow.commit()
        if self._observer is not None:
            self._observer.published(events)

    async def relay_leftovers(self, *, min_age: timedelta = LEFTOVER_AGE) -> int:
        """Hand out what is still unpublished `min_age` after it was recorded; the number."""
        relayed = 0
        async with self._leftovers_lock:
            while True:
                recorded_before = self._clock.now() - min_age
                async with self._unit_of_work() as uow:
                    pending = await uow.outbox.unpublished(
                        LEFTOVER_BATCH, recorded_before=recorded_before
                    )
                if not pending:
                    return relayed
                logger.info("relaying events a crash left", extra={"events": len(pending)})
                await self._hand_out(pending)  # raises: the caller retries later, not in a loop
                relayed += len(pending)

    async def republish_since(self, cutoff: datetime) -> int:
        """Hand out again every event published since `cutoff` (Redis lost its stream, and with
        it what consumers had not read yet); the number. Handlers drop what they had handled."""
        republished = 0
        after: UUID | None = None
        while True:
            async with self._unit_of_work() as uow:
                batch = await uow.outbox.published_since(cutoff, after=after, limit=LEFTOVER_BATCH)
            if not batch:
                break
            await self._handlers.publish(batch)
            republished += len(batch)
            after = batch[-1].event_id
        if republished:
            logger.warning(
                "events published again after the stream was lost", extra={"events": republished}
            )
        return republished

    async def measure_lag(self) -> float:
        """Seconds the oldest unpublished event has waited (0 when none waits), told to the
        observer."""
        async with self._unit_of_work() as uow:
            oldest = await uow.outbox.oldest_unpublished_at()
        lag = max((self._clock.now() - oldest).total_seconds(), 0.0) if oldest else 0.0
        if self._observer is not None:
            self._observer.lag(lag)
        return lag

    async def forget_old(self) -> None:
        """Drop published events and claims past their retention (they grow with every change)."""
        cutoff = self._clock.now() - RETENTION
        async with self._unit_of_work() as uow:
            await uow.outbox.delete_published_before(cutoff)
            await uow.processed_events.delete_before(cutoff)
            await uow.commit()
