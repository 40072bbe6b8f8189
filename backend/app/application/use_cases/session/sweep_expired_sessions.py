from __future__ import annotations

import logging
from collections.abc import Callable

from app.application.batches import in_batches
from app.application.interfaces.clock import Clock
from app.application.interfaces.session import SessionUnitOfWork
from app.domain.entities.job import Job

logger = logging.getLogger("strata.sessions")

BATCH = 1_000  # one short transaction per batch: logins are not held up


class SweepExpiredSessions:
    """A periodic job: expired sessions are deleted, with the user agent and address they hold
    (a user's own are also deleted at their next login)."""

    def __init__(self, unit_of_work: Callable[[], SessionUnitOfWork], clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def __call__(self, job: Job) -> None:
        now = self._clock.now()

        async def one_batch() -> int:
            async with self._unit_of_work() as uow:
                count = await uow.sessions.delete_expired_of_anyone(now, limit=BATCH)
                await uow.commit()
            return count

        deleted = await in_batches(one_batch, BATCH)
        logger.info("expired sessions deleted", extra={"sessions": deleted})
