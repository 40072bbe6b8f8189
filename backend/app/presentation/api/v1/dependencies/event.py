"""Composition of the event feature: the task that relays what a crash left in the outbox (and
measures the relay's lag), and, distributed, the follower through which every process hears
every event (to empty its caches)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import InterfaceError, OperationalError

from app.application.services.events import OutboxRelay
from app.application.tasks import cancel_and_wait
from app.domain.entities.job import Job
from app.infrastructure.adapters.redis_event_stream import EventStreamFollower, stream_reader_client
from app.presentation.container import Container, Provider, ProviderKey

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from app.presentation.api.metrics import HttpMetrics

logger = logging.getLogger("strata.events")

LEFTOVERS_EVERY_SECONDS = 5.0

LEFTOVER_RELAY = ProviderKey[asyncio.Task[None]]("event.leftover_relay")


async def relay_leftovers_periodically(container: Container) -> None:
    """Every few seconds, hand out committed events their request did not (it crashed, or its
    handlers' process went away). (Forgetting old events is the periodic job `event.forget_old`.)"""
    while True:
        await asyncio.sleep(LEFTOVERS_EVERY_SECONDS)
        try:
            await container.event_relay.relay_leftovers()
            await container.event_relay.measure_lag()
        except Exception as exc:  # the database may be away for a while: try again next time
            logger.warning("outbox relay failed; retrying", extra={"error": type(exc).__name__})


async def _stop(task: asyncio.Task[None]) -> None:
    await cancel_and_wait(task)


class BroadcastFollower:
    """Distributed: follows the event stream and hands every event to this process's broadcast
    handlers (`container.broadcast_handlers`). Embedded: nothing to follow."""

    def __init__(self, container: Container) -> None:
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: Redis | None = None
        url = container.settings.redis_url
        if url:  # features subscribe their broadcast handlers after this is built
            self._client = stream_reader_client(url)
            follower = EventStreamFollower(
                self._client, handle=lambda event: container.broadcast_handlers.publish([event])
            )
            self._task = asyncio.get_running_loop().create_task(
                follower.run(self._stop), name="event-follower"
            )

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            await _stop(self._task)
        if self._client is not None:
            await self._client.aclose()


BROADCAST_FOLLOWER = ProviderKey[BroadcastFollower]("event.broadcast_follower")

PROVIDERS = (
    Provider(
        key=LEFTOVER_RELAY,
        build=lambda container: asyncio.get_running_loop().create_task(
            relay_leftovers_periodically(container), name="outbox-relay"
        ),
        close=_stop,
    ),
    Provider(key=BROADCAST_FOLLOWER, build=BroadcastFollower, close=lambda f: f.close()),
)


def track_events(container: Container, metrics: HttpMetrics) -> None:
    container.event_statistics.register(metrics.registry)


async def relay_leftovers_now(container: Container) -> None:
    """At start-up: what the last run recorded but never handed out goes out first. A database
    that does not answer yet stops nothing: readiness says so, and the periodic task retries."""
    unreachable: tuple[type[BaseException], ...] = (OSError, OperationalError, InterfaceError)
    if container.redis is not None:  # distributed, the relay appends to Redis
        # Loaded with the client already; the embedded default never imports redis (issue 13).
        from redis.exceptions import RedisError  # noqa: PLC0415

        unreachable = (*unreachable, RedisError)
    try:
        relayed = await container.event_relay.relay_leftovers(min_age=timedelta(0))
    except unreachable as exc:
        logger.warning("outbox not relayed at start-up", extra={"error": type(exc).__name__})
        return
    if relayed:
        logger.info("events left by the last run relayed", extra={"events": relayed})


class ForgetOldEvents:
    """The periodic job `event.forget_old`: published events and handlers' claims past their
    retention are deleted (they grow with every change)."""

    def __init__(self, relay: OutboxRelay) -> None:
        self._relay = relay

    async def __call__(self, job: Job) -> None:
        await self._relay.forget_old()
