"""`strata worker`: a process that runs background jobs and event handlers from Redis.

Jobs come off the job stream (`JobsRuntime`); events off the event stream, one consumer group per
event handler (`Subscription.group`), so each handler sees each event once across all workers.

Start any number, on any machines sharing the database and Redis. SIGTERM (or Ctrl-C) drains: the
worker stops taking jobs, lets those it runs finish within `FEATURES__JOB__DRAIN_SECONDS`, hands
the rest back to the queue for another worker, and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from app.core.config import Settings
from app.core.logging import configure_logging
from app.domain.events import DomainEvent
from app.infrastructure.adapters.event_publisher import Subscription
from app.infrastructure.adapters.redis_event_stream import (
    EventHandler,
    EventStreamGroupConsumer,
    stream_reader_client,
)
from app.infrastructure.database import migrations
from app.presentation.api.v1.dependencies.job import JOBS
from app.presentation.container import Container
from app.presentation.features.registry import FeatureSet

logger = logging.getLogger("strata.worker")


class WorkerNeedsRedisError(RuntimeError):
    """Without REDIS_URL jobs run inside `strata serve`: there is nothing for a worker to read."""


async def run_worker(
    settings: Settings, features: FeatureSet, *, stop: asyncio.Event | None = None
) -> None:
    """Run jobs until `stop` is set (by default: until SIGTERM or SIGINT), then drain and return."""
    if not settings.redis_url:
        raise WorkerNeedsRedisError(
            "REDIS_URL is not set: in the embedded mode `strata serve` runs the jobs itself"
        )
    stop = stop or _stop_on_signals()
    container = Container.build(settings, features)
    try:
        await migrations.ensure_at_head(container.database.engine, features.migration_locations)
        await container.access_policy.warm_up()
        runtime = container.get(JOBS)
        await runtime.start_worker()
        events_stop = asyncio.Event()
        consumers = _start_event_consumers(
            container, settings.redis_url, runtime.worker_id, events_stop
        )
        logger.info(
            "worker started",
            extra={"worker": runtime.worker_id, "concurrency": runtime.settings.concurrency},
        )
        await stop.wait()
        logger.info("worker stopping: draining", extra={"worker": runtime.worker_id})
        events_stop.set()  # a handler running finishes; an unacknowledged event is reclaimed
        await asyncio.gather(*consumers, return_exceptions=True)
    finally:
        await container.close()  # the job runtime drains its running jobs first
    logger.info("worker stopped")


# After Redis lost the event stream, events published this long before are published again
# (consumers may not have read them); handlers drop what they had handled already.
REPUBLISH_WINDOW = timedelta(minutes=5)
REPUBLISH_LOCK = "strata:events:republishing"


def _start_event_consumers(
    container: Container, url: str, worker_id: str, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    loop = asyncio.get_running_loop()
    tasks = []
    for subscription in container.event_publisher.subscriptions:
        consumer = EventStreamGroupConsumer(
            lambda: stream_reader_client(url),
            group=f"strata:{subscription.name}",
            consumer_name=worker_id,
            handle=_handler_of(container, subscription),
            on_group_recreated=lambda: _republish_after_loss(container),
        )
        tasks.append(loop.create_task(consumer.run(stop), name=f"events:{subscription.name}"))
    return tasks


def _handler_of(container: Container, subscription: Subscription) -> EventHandler:
    async def handle(event: DomainEvent) -> None:
        if not subscription.wants(event):
            return  # every group reads every event; this handler takes only its own
        try:
            await subscription.handler(event)
        except Exception:
            container.event_statistics.handled(subscription.name, "failed")
            raise  # left unacknowledged: the consumer group delivers it again
        container.event_statistics.handled(subscription.name, "handled")

    return handle


async def _republish_after_loss(container: Container) -> None:
    """Once across all workers (whichever group noticed first takes the lock), publish again what
    the lost stream may still have held for its readers."""
    if container.redis is None or not await container.redis.set(
        REPUBLISH_LOCK, "1", nx=True, ex=60
    ):
        return
    cutoff = container.clock.now() - REPUBLISH_WINDOW
    await container.event_relay.republish_since(cutoff)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def main(settings: Settings, features: FeatureSet) -> None:
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings, features))
