"""Background jobs: the kinds a feature declares, how a use case makes one, how a worker runs one,
and the sweeper that sends again whatever a broker or a dead worker lost.

Guarantees, all held by the `jobs` table and not by the broker:
- a job exists if and only if the transaction that made it committed (it is stored there, and its
  `JobQueued` event in the outbox, which is what sends its id to a worker);
- one worker at a time runs a job: starting it is a compare-and-set on the row's version, and the
  lease it takes is renewed while the handler runs;
- a job whose worker died (lease expired), whose message was lost (sent long ago, still queued) or
  whose backoff is over is sent again by the sweeper, which every job-running process runs;
- a failed attempt waits its kind's backoff; past the attempt limit the job is `dead`, with its
  reason and a `JobFailed` event.
Handlers may still run twice for one job (killed after the effect, before recording success), so
they make their effects idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.job import (
    JobEngine,
    JobHandler,
    JobObserver,
    JobUnitOfWork,
    NoJobObserver,
)
from app.application.tasks import cancel_and_wait
from app.domain.entities.job import (
    Job,
    JobLeaseLostError,
    JobNotStartableError,
    JobOutOfAttemptsError,
    JobStatus,
    RetryPolicy,
)
from app.domain.events.job import JobFailed, JobQueued

logger = logging.getLogger("strata.jobs")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobKind:
    """A kind of job a feature declares: what it does, how often it is tried, how long a worker
    holds it without renewing (after that, a silent worker is taken for dead), and, for a
    periodic job, its period."""

    name: str
    handler: JobHandler
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    visibility_timeout: timedelta = timedelta(minutes=5)
    every: timedelta | None = None


class JobKinds:
    def __init__(self, kinds: Iterable[JobKind] = ()) -> None:
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"two job kinds are named {kind.name!r}")
            self._kinds[kind.name] = kind

    def get(self, name: str) -> JobKind | None:
        return self._kinds.get(name)

    def __iter__(self) -> Iterator[JobKind]:
        return iter(self._kinds.values())

    def periodic(self) -> list[tuple[JobKind, timedelta]]:
        """The periodic kinds, each with its period."""
        return [(kind, kind.every) for kind in self._kinds.values() if kind.every is not None]


class UnknownJobKindError(LookupError):
    """A use case asked for a kind of job no enabled feature declares (a programming error)."""


class JobFactory:
    """Makes a job of a declared kind, with the event that will send it once committed.

    `kinds` may be a function giving them: the factory then exists before the kinds' handlers are
    built (a feature's provider takes the factory, and handlers may use that provider)."""

    def __init__(self, kinds: JobKinds | Callable[[], JobKinds], clock: Clock) -> None:
        self._kinds = kinds
        self._clock = clock

    def _declared(self, kind: str) -> JobKind | None:
        kinds = self._kinds if isinstance(self._kinds, JobKinds) else self._kinds()
        return kinds.get(kind)

    def new(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        owner_id: UUID | None = None,
        dedupe_key: str | None = None,
    ) -> tuple[Job, JobQueued]:
        declared = self._declared(kind)
        if declared is None:
            raise UnknownJobKindError(kind)
        now = self._clock.now()
        job = Job.create(
            kind=kind,
            payload=payload,
            now=now,
            max_attempts=declared.retry.max_attempts,
            owner_id=owner_id,
            dedupe_key=dedupe_key,
        )
        return job, JobQueued(occurred_at=now, job_id=job.id, kind=kind)

    async def enqueue(
        self,
        uow: JobUnitOfWork,
        kind: str,
        payload: Mapping[str, Any],
        *,
        owner_id: UUID | None = None,
    ) -> tuple[Job, JobQueued]:
        """Store a job in the caller's transaction. The caller commits, then relays the event."""
        job, queued = self.new(kind, payload, owner_id=owner_id)
        await uow.jobs.add(job)
        await uow.outbox.add([queued], job.created_at)
        return job, queued


class JobRunner:
    """Runs one job by id, as the worker `worker_id`: the part of a worker that is not transport."""

    def __init__(
        self,
        unit_of_work: Callable[[], JobUnitOfWork],
        kinds: JobKinds,
        clock: Clock,
        relay: EventRelay,
        worker_id: str,
        observer: JobObserver | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._kinds = kinds
        self._clock = clock
        self._relay = relay
        self.worker_id = worker_id
        self._observer = observer or NoJobObserver()
        self._jitter = jitter

    async def run(self, job_id: UUID) -> JobStatus | None:
        """Start the job if it is startable, run it, record how it ended; the status it ended
        in, or None when it was not ours to run (a duplicate delivery, not due, not found)."""
        job = await self._start(job_id)
        if job is None:
            return None
        kind = self._kinds.get(job.kind)
        if kind is None:  # a feature disabled since it was made: nothing here can run it
            return await self._finish(job_id, failure=LookupError(f"unknown job kind {job.kind}"))
        logger.info("job started", extra={"job_id": str(job_id), "kind": job.kind})
        started = time.monotonic()
        renewing = asyncio.create_task(self._renew_lease(job_id, kind.visibility_timeout))
        failure: Exception | None = None
        try:
            await kind.handler(job)
        except asyncio.CancelledError:
            # The worker is draining past its bound: hand the job back for another worker.
            await _stop(renewing)
            await asyncio.shield(self._release(job_id))
            raise
        except Exception as error:  # the job's failure, recorded on it; the worker goes on
            failure = error
        await _stop(renewing)
        status = await self._finish(job_id, failure=failure, kind=kind)
        if status is not None:
            outcome = status.value if status is not JobStatus.QUEUED else "released"
            self._observer.job_finished(job.kind, outcome, time.monotonic() - started)
        return status

    async def _start(self, job_id: UUID) -> Job | None:
        now = self._clock.now()
        dead: JobFailed | None = None
        async with self._unit_of_work() as uow:
            job = await uow.jobs.get(job_id)
            if job is None:
                return None
            kind = self._kinds.get(job.kind)
            lease = kind.visibility_timeout if kind is not None else timedelta(minutes=1)
            try:
                job.start(self.worker_id, now, lease)
            except JobNotStartableError:
                return None
            except JobOutOfAttemptsError:
                # Its last attempt's worker vanished (killed, or killed by the job): no more.
                job.bury("its worker stopped during the last attempt", now)
                dead = JobFailed(
                    occurred_at=now,
                    job_id=job.id,
                    kind=job.kind,
                    attempts=job.attempts,
                    error_type="WorkerLost",
                )
                await uow.outbox.add([dead], now)
            if not await uow.jobs.update(job):
                return None  # another worker changed it first
            await uow.commit()
        if dead is not None:  # told once the transaction is over, as every event is
            logger.warning("job dead", extra={"job_id": str(job_id), "kind": job.kind})
            self._observer.job_finished(job.kind, JobStatus.DEAD.value, 0.0)
            await self._relay.relay([dead])
            return None
        return job

    async def _finish(
        self, job_id: UUID, *, failure: Exception | None, kind: JobKind | None = None
    ) -> JobStatus | None:
        now = self._clock.now()
        events: list[JobFailed] = []
        async with self._unit_of_work() as uow:
            job = await uow.jobs.get(job_id)
            if job is None:
                return None
            try:
                if failure is None:
                    job.succeed(self.worker_id, now)
                elif kind is None:
                    job.bury(f"{type(failure).__name__}: {failure}", now)
                else:
                    reason = f"{type(failure).__name__}: {failure}"
                    job.fail(self.worker_id, reason, now, kind.retry, self._jitter)
            except JobLeaseLostError:
                # Our lease ran out and another worker took the job over: its record stands.
                logger.warning("job lease lost", extra={"job_id": str(job_id), "kind": job.kind})
                return None
            if job.status is JobStatus.DEAD:
                events.append(
                    JobFailed(
                        occurred_at=now,
                        job_id=job.id,
                        kind=job.kind,
                        attempts=job.attempts,
                        error_type=type(failure).__name__,
                    )
                )
                await uow.outbox.add(events, now)
            if not await uow.jobs.update(job):
                return None
            await uow.commit()
        extra = {"job_id": str(job_id), "kind": job.kind, "attempt": job.attempts}
        if failure is None:
            logger.info("job succeeded", extra=extra)
        else:
            extra["error"] = type(failure).__name__
            logger.warning(f"job {job.status.value}", extra=extra)
        await self._relay.relay(events)
        return job.status

    async def _renew_lease(self, job_id: UUID, lease: timedelta) -> None:
        # Renew at a third of the lease: two renewals may fail (a slow database) before it lapses.
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                async with self._unit_of_work() as uow:
                    job = await uow.jobs.get(job_id)
                    if job is None:
                        return
                    job.renew_lease(self.worker_id, self._clock.now(), lease)
                    if await uow.jobs.update(job):
                        await uow.commit()
            except JobLeaseLostError:
                return
            except Exception as error:  # the database away for a moment: try at the next beat
                logger.warning(
                    "job lease not renewed",
                    extra={"job_id": str(job_id), "error": type(error).__name__},
                )

    async def _release(self, job_id: UUID) -> None:
        try:
            async with self._unit_of_work() as uow:
                job = await uow.jobs.get(job_id)
                if job is None:
                    return
                job.release(self.worker_id, self._clock.now())
                if await uow.jobs.update(job):
                    await uow.commit()
                    logger.info("job handed back", extra={"job_id": str(job_id), "kind": job.kind})
        except JobLeaseLostError:
            return


class JobSweeper:
    """What every job-running process does every second or so: make this period's periodic jobs
    (one per period however many processes try: the `dedupe_key` is unique), send the ids of jobs
    that are due again, and report the queue depth."""

    def __init__(
        self,
        unit_of_work: Callable[[], JobUnitOfWork],
        kinds: JobKinds,
        factory: JobFactory,
        engine: JobEngine,
        relay: EventRelay,
        clock: Clock,
        *,
        resend_after: timedelta = timedelta(seconds=30),
        batch: int = 500,
        observer: JobObserver | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._kinds = kinds
        self._factory = factory
        self._engine = engine
        self._relay = relay
        self._clock = clock
        self._resend_after = resend_after
        self._batch = batch
        self._observer = observer or NoJobObserver()
        # The period each periodic kind was last made (or found made) for, by this sweeper: the
        # database is asked once per period, not at every sweep.
        self._made_for: dict[str, datetime] = {}

    async def sweep(self) -> None:
        await self.schedule_periodic()
        await self.send_due()
        await self.observe()

    async def schedule_periodic(self) -> int:
        """Make the current period's job of every periodic kind unless made; the number made."""
        made = 0
        now = self._clock.now()
        for kind, every in self._kinds.periodic():
            period = _period_start(now, every)
            if self._made_for.get(kind.name) == period:
                continue
            job, queued = self._factory.new(
                kind.name,
                {"period": period.isoformat()},
                dedupe_key=f"{kind.name}@{period:%Y%m%dT%H%M%S}",
            )
            async with self._unit_of_work() as uow:
                stored = await uow.jobs.add_unless_duplicate(job)
                if stored:
                    await uow.outbox.add([queued], now)
                    await uow.commit()
            self._made_for[kind.name] = period
            if not stored:
                continue  # another process made it
            made += 1
            await self._relay.relay([queued])
        return made

    async def send_due(self, *, resend_after: timedelta | None = None) -> int:
        """Send again what is due; the number sent."""
        now = self._clock.now()
        wait = self._resend_after if resend_after is None else resend_after
        async with self._unit_of_work() as uow:
            due = await uow.jobs.due(now, sent_before=now - wait, limit=self._batch)
            if not due:
                return 0
            await uow.jobs.mark_sent(due, now)
            await uow.commit()
        await self._engine.send(due)
        logger.info("due jobs sent", extra={"jobs": len(due)})
        return len(due)

    async def observe(self) -> None:
        async with self._unit_of_work() as uow:
            depth = await uow.jobs.depth_by_kind()
        self._observer.queue_depth(depth)

    async def recover_abandoned(self, is_gone: Callable[[str], bool]) -> int:
        """At start-up: jobs left `running` by a process that is gone (crashed) start again
        now, without waiting for their lease; the number recovered."""
        now = self._clock.now()
        recovered = 0
        async with self._unit_of_work() as uow:
            for job in await uow.jobs.running(self._batch):
                if job.worker is not None and is_gone(job.worker):
                    job.abandon(now)
                    if await uow.jobs.update(job):
                        recovered += 1
            await uow.commit()
        sent = await self.send_due(resend_after=timedelta(0))
        if recovered or sent:
            logger.info("jobs resumed after a crash", extra={"jobs": recovered, "sent": sent})
        return recovered


class ForgetFinishedJobs:
    """A periodic job: finished jobs are forgotten after their retention."""

    def __init__(
        self, unit_of_work: Callable[[], JobUnitOfWork], clock: Clock, retention: timedelta
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._retention = retention

    async def __call__(self, job: Job) -> None:
        async with self._unit_of_work() as uow:
            deleted = await uow.jobs.delete_finished_before(self._clock.now() - self._retention)
            await uow.commit()
        logger.info("finished jobs forgotten", extra={"jobs": deleted})


def _period_start(now: datetime, every: timedelta) -> datetime:
    """The start of the period `now` falls in, counted from the epoch (the same in every process)."""
    return _EPOCH + every * ((now - _EPOCH) // every)


async def _stop(task: asyncio.Task[None]) -> None:
    await cancel_and_wait(task)
