"""Administrators look at background jobs and step in: run a failed or dead one again, or cancel
one that waits. The policy decides who is an administrator here (object type `job`)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.job import JOB, JobAdminUnitOfWork, JobFilter, JobUnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.application.request_context import NO_REQUEST, RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.job import Job, JobChangedConcurrentlyError, JobNotFoundError
from app.domain.entities.user import AdminRequiredError, User
from app.domain.events.job import JobQueued


class ListJobs:
    def __init__(self, uow: JobUnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(
        self, actor: User, job_filter: JobFilter, *, limit: int, cursor: str | None
    ) -> Page[Job]:
        if not await self._policy.allows(actor, "read", JOB):
            raise AdminRequiredError()
        ensure_page_size(limit)
        before = decode_cursor(cursor)
        async with self._uow as uow:
            rows = await uow.jobs.list_page(job_filter, before=before, limit=limit + 1)
        return page_of(rows, limit)


class GetJob:
    def __init__(self, uow: JobUnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(self, actor: User, job_id: UUID) -> Job:
        if not await self._policy.allows(actor, "read", JOB):
            raise AdminRequiredError()
        async with self._uow as uow:
            job = await uow.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError()
        return job


class RetryJob:
    """A failed, dead or canceled job runs again with a fresh set of attempts; like any new job,
    its id goes to a worker once the change is committed (its `JobQueued` event)."""

    def __init__(
        self, uow: JobAdminUnitOfWork, policy: AccessPolicy, clock: Clock, events: EventRelay
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._events = events

    async def execute(self, actor: User, job_id: UUID, context: RequestContext) -> Job:
        if not await self._policy.allows(actor, "update", JOB):
            raise AdminRequiredError()
        return await self._retry(job_id, actor.id, context)

    async def as_operator(self, job_id: UUID) -> Job:
        """For `strata jobs retry`: whoever runs the command holds the database's credentials,
        and is trusted as `strata users create-admin` trusts them (audited with no actor)."""
        return await self._retry(job_id, None, NO_REQUEST)

    async def _retry(self, job_id: UUID, actor_id: UUID | None, context: RequestContext) -> Job:
        now = self._clock.now()
        async with self._uow as uow:
            job = await _stored(uow, job_id)
            job.retry(now)  # JobNotRetryableError unless failed, dead or canceled
            queued = JobQueued(occurred_at=now, job_id=job.id, kind=job.kind)
            await _update(uow, job)
            await uow.audit_events.add(_audited("job.retry", job, now, actor_id, context))
            await uow.outbox.add([queued], now)
            await uow.jobs.mark_sent([job.id], now)  # its JobQueued sends it: no resend yet
            await uow.commit()
        await self._events.relay([queued])
        return job


class CancelJob:
    """A queued or failed job is canceled: it will not run (a worker holding its id skips it)."""

    def __init__(self, uow: JobAdminUnitOfWork, policy: AccessPolicy, clock: Clock) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock

    async def execute(self, actor: User, job_id: UUID, context: RequestContext) -> Job:
        if not await self._policy.allows(actor, "update", JOB):
            raise AdminRequiredError()
        return await self._cancel(job_id, actor.id, context)

    async def as_operator(self, job_id: UUID) -> Job:
        """For `strata jobs cancel` (trusted as `RetryJob.as_operator` says)."""
        return await self._cancel(job_id, None, NO_REQUEST)

    async def _cancel(self, job_id: UUID, actor_id: UUID | None, context: RequestContext) -> Job:
        now = self._clock.now()
        async with self._uow as uow:
            job = await _stored(uow, job_id)
            job.cancel(now)  # JobNotCancelableError once running or finished
            await _update(uow, job)
            await uow.audit_events.add(_audited("job.cancel", job, now, actor_id, context))
            await uow.commit()
        return job


def _audited(
    action: str, job: Job, now: datetime, actor_id: UUID | None, context: RequestContext
) -> AuditEvent:
    return AuditEvent.record(
        action=action,
        now=now,
        actor_id=actor_id,
        target_type=JOB,
        target_id=job.id,
        ip=context.ip,
        request_id=context.request_id,
        details={"kind": job.kind, "via": "api" if actor_id is not None else "cli"},
    )


async def _stored(uow: JobUnitOfWork, job_id: UUID) -> Job:
    job = await uow.jobs.get(job_id)
    if job is None:
        raise JobNotFoundError()
    return job


async def _update(uow: JobUnitOfWork, job: Job) -> None:
    if not await uow.jobs.update(job):
        # A worker changed it between our read and our write (it started, say): refuse rather
        # than overwrite; the administrator sees the new state and decides again.
        raise JobChangedConcurrentlyError()
