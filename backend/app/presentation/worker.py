"""`strata worker`: a process that runs background jobs (and, later, event handlers) from Redis.

Start any number, on any machines sharing the database and Redis. SIGTERM (or Ctrl-C) drains: the
worker stops taking jobs, lets those it runs finish within `FEATURES__JOB__DRAIN_SECONDS`, hands
the rest back to the queue for another worker, and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from app.core.config import Settings
from app.core.logging import configure_logging
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
        logger.info(
            "worker started",
            extra={"worker": runtime.worker_id, "concurrency": runtime.settings.concurrency},
        )
        await stop.wait()
        logger.info("worker stopping: draining", extra={"worker": runtime.worker_id})
    finally:
        await container.close()  # the job runtime drains its running jobs first
    logger.info("worker stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def main(settings: Settings, features: FeatureSet) -> None:
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings, features))
