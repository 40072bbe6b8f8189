"""Composition of the event feature: the task that relays what a crash left in the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.exc import InterfaceError, OperationalError

from app.application.services.events import OutboxRelay
from app.domain.entities.job import Job
from app.presentation.container import Container, Provider, ProviderKey

logger = logging.getLogger("strata.events")

LEFTOVERS_EVERY_SECONDS = 10.0

LEFTOVER_RELAY = ProviderKey[asyncio.Task[None]]("event.leftover_relay")


async def relay_leftovers_periodically(container: Container) -> None:
    """Every few seconds, hand out committed events their request did not (it crashed, or its
    handlers' process went away). (Forgetting old events is the periodic job `event.forget_old`.)"""
    while True:
        await asyncio.sleep(LEFTOVERS_EVERY_SECONDS)
        try:
            await container.event_relay.relay_leftovers()
        except Exception as exc:  # the database may be away for a while: try again next time
            logger.warning("outbox relay failed; retrying", extra={"error": type(exc).__name__})


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


PROVIDERS = (
    Provider(
        key=LEFTOVER_RELAY,
        build=lambda container: asyncio.get_running_loop().create_task(
            relay_leftovers_periodically(container), name="outbox-relay"
        ),
        close=_stop,
    ),
)


async def relay_leftovers_now(container: Container) -> None:
    """At start-up: what the last run recorded but never handed out goes out first. A database
    that does not answer yet stops nothing: readiness says so, and the periodic task retries."""
    try:
        relayed = await container.event_relay.relay_leftovers(min_age=timedelta(0))
    except (OSError, OperationalError, InterfaceError) as exc:
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
