from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from app.application.batches import in_batches
from app.application.interfaces.clock import Clock
from app.application.interfaces.payment import PaymentUnitOfWork
from app.domain.entities.job import Job

logger = logging.getLogger("strata.payments")

BATCH = 1_000  # one short transaction per batch: webhook requests are not held up


class ForgetWebhookPayloads:
    """A periodic job: webhook payloads (which may carry billing details) are kept `retention`,
    then emptied; the event ids stay, so a late redelivery is still recognised and ignored."""

    def __init__(
        self, unit_of_work: Callable[[], PaymentUnitOfWork], clock: Clock, retention: timedelta
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._retention = retention

    async def __call__(self, job: Job) -> None:
        cutoff = self._clock.now() - self._retention

        async def one_batch() -> int:
            async with self._unit_of_work() as uow:
                count = await uow.webhook_events.drop_payloads_received_before(cutoff, limit=BATCH)
                await uow.commit()
            return count

        emptied = await in_batches(one_batch, BATCH)
        logger.info("webhook payloads past retention emptied", extra={"events": emptied})
