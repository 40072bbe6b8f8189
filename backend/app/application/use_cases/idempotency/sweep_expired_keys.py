from __future__ import annotations

import logging
from collections.abc import Callable

from app.application.interfaces.clock import Clock
from app.application.interfaces.idempotency import IdempotencyUnitOfWork
from app.domain.entities.job import Job

logger = logging.getLogger("strata.idempotency")


class SweepExpiredIdempotencyKeys:
    """A periodic job: idempotency keys past their lifetime (and the responses they keep for a
    replay) are deleted."""

    def __init__(self, unit_of_work: Callable[[], IdempotencyUnitOfWork], clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def __call__(self, job: Job) -> None:
        async with self._unit_of_work() as uow:
            deleted = await uow.idempotency_keys.delete_expired(self._clock.now())
            await uow.commit()
        logger.info("expired idempotency keys deleted", extra={"keys": deleted})
