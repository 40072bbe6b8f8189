"""A background job: work a use case asked for, done later by a worker, and the record of it.

The database row is the source of truth; a broker only carries the job's id to a worker. A job
moves through these statuses:

    queued ──start──▶ running ──succeed──▶ succeeded
      ▲                 │ └──fail, attempts left──▶ failed ──(backoff over)──start──▶ running
      │                 │ └──fail, none left──────▶ dead
      └───release───────┘   (a draining worker hands it back; the attempt does not count)

A running job holds a lease: a worker that stops renewing it (killed) loses the job to another
worker once the lease expires, which starts it again as a new attempt. So a job that kills every
worker it runs on still ends `dead` after its attempt limit instead of being redelivered forever.
An administrator may `retry` a failed, dead or canceled job, and `cancel` one that waits.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Self
from uuid import UUID

from app.domain.errors import ConflictError, NotFoundError
from app.domain.value_objects.identifiers import new_id

# What we keep of a failure's message: enough to diagnose, bounded in size.
ERROR_MAX_LENGTH = 1_000


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # an attempt failed; the next one waits for its backoff
    DEAD = "dead"  # out of attempts (or an unknown kind): it will not run again by itself
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELED)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a kind of job is tried, and how long a failed one waits before the next try:
    exponential backoff (base, twice that, four times … up to `cap`) with "equal jitter" (half the
    delay fixed, half random), so jobs that failed together do not retry together."""

    max_attempts: int = 5
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_cap: timedelta = timedelta(minutes=10)

    def delay_after(self, attempts: int, jitter: Callable[[], float] = random.random) -> timedelta:
        """The wait before the next attempt, after `attempts` failed ones (1 or more)."""
        # In float seconds: base times 2**n overflows a timedelta long before it passes any cap.
        doublings = min(max(attempts - 1, 0), 64)
        full = min(
            self.backoff_cap.total_seconds(), self.backoff_base.total_seconds() * 2.0**doublings
        )
        return timedelta(seconds=full / 2 + (full / 2) * jitter())


@dataclass(slots=True, kw_only=True)
class Job:
    id: UUID
    kind: str
    payload: Mapping[str, Any]  # plain JSON; ids rather than personal data
    status: JobStatus
    attempts: int  # attempts started so far
    max_attempts: int
    owner_id: UUID | None  # the user whose request made it; None for the system's own jobs
    created_at: datetime
    updated_at: datetime
    # The next attempt starts no earlier than this (the backoff of a failed job).
    run_after: datetime
    last_error: str | None = None
    # Who runs it now ("host/pid/…"), and until when that worker holds it without renewing.
    worker: str | None = None
    lease_expires_at: datetime | None = None
    finished_at: datetime | None = None
    # At most one job per key: a periodic job's kind and period, so two schedulers make one.
    dedupe_key: str | None = None
    # Bumped by every stored change: a change made from a stale copy is refused.
    version: int = field(default=0)

    @classmethod
    def create(
        cls,
        *,
        kind: str,
        payload: Mapping[str, Any],
        now: datetime,
        max_attempts: int,
        owner_id: UUID | None = None,
        dedupe_key: str | None = None,
    ) -> Self:
        return cls(
            id=new_id(),
            kind=kind,
            payload=dict(payload),
            status=JobStatus.QUEUED,
            attempts=0,
            max_attempts=max_attempts,
            owner_id=owner_id,
            created_at=now,
            updated_at=now,
            run_after=now,
            dedupe_key=dedupe_key,
        )

    def is_startable(self, now: datetime) -> bool:
        """Waiting and due, or running on a worker whose lease ran out (it died)."""
        if self.status in (JobStatus.QUEUED, JobStatus.FAILED):
            return self.run_after <= now
        if self.status is JobStatus.RUNNING:
            return self.lease_expires_at is not None and self.lease_expires_at <= now
        return False

    def start(self, worker: str, now: datetime, lease: timedelta) -> None:
        if not self.is_startable(now):
            raise JobNotStartableError()
        if self.attempts >= self.max_attempts:
            # Only a job whose worker vanished mid-attempt gets here: the last attempt was used.
            raise JobOutOfAttemptsError()
        self.status = JobStatus.RUNNING
        self.attempts += 1
        self.worker = worker
        self.lease_expires_at = now + lease
        self.updated_at = now

    def renew_lease(self, worker: str, now: datetime, lease: timedelta) -> None:
        self._ensure_held_by(worker)
        self.lease_expires_at = now + lease
        self.updated_at = now

    def succeed(self, worker: str, now: datetime) -> None:
        self._ensure_held_by(worker)
        self._finish(JobStatus.SUCCEEDED, now)

    def fail(
        self,
        worker: str,
        error: str,
        now: datetime,
        retry: RetryPolicy,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Record a failed attempt: `failed` with a backoff, or `dead` when none is left."""
        self._ensure_held_by(worker)
        self.last_error = error[:ERROR_MAX_LENGTH]
        if self.attempts >= self.max_attempts:
            self._finish(JobStatus.DEAD, now)
            return
        self.status = JobStatus.FAILED
        self.run_after = now + retry.delay_after(self.attempts, jitter)
        self._release_lease(now)

    def bury(self, reason: str, now: datetime) -> None:
        """Dead at once, whatever its attempts: it cannot run here (say, its kind is unknown)."""
        self.last_error = reason[:ERROR_MAX_LENGTH]
        self._finish(JobStatus.DEAD, now)

    def release(self, worker: str, now: datetime) -> None:
        """A draining worker hands the job back unfinished: queued again, the attempt undone."""
        self._ensure_held_by(worker)
        self.status = JobStatus.QUEUED
        self.attempts -= 1
        self.run_after = now
        self._release_lease(now)

    def abandon(self, now: datetime) -> None:
        """Its worker's process is gone (found at start-up): queued again at once. The attempt
        counts, as the job may be what killed the process."""
        if self.status is not JobStatus.RUNNING:
            raise JobNotStartableError()
        self.status = JobStatus.QUEUED
        self.run_after = now
        self._release_lease(now)

    def retry(self, now: datetime) -> None:
        """An administrator runs it again, with a fresh set of attempts."""
        if self.status not in (JobStatus.FAILED, JobStatus.DEAD, JobStatus.CANCELED):
            raise JobNotRetryableError()
        self.status = JobStatus.QUEUED
        self.attempts = 0
        self.run_after = now
        self.finished_at = None
        self._release_lease(now)

    def cancel(self, now: datetime) -> None:
        """An administrator stops a job that waits; a running one cannot be taken back."""
        if self.status not in (JobStatus.QUEUED, JobStatus.FAILED):
            raise JobNotCancelableError()
        self._finish(JobStatus.CANCELED, now)

    def _ensure_held_by(self, worker: str) -> None:
        if self.status is not JobStatus.RUNNING or self.worker != worker:
            raise JobLeaseLostError()

    def _finish(self, status: JobStatus, now: datetime) -> None:
        self.status = status
        self.finished_at = now
        self._release_lease(now)

    def _release_lease(self, now: datetime) -> None:
        self.worker = None
        self.lease_expires_at = None
        self.updated_at = now


class JobNotFoundError(NotFoundError):
    code = "job.not_found"


class JobNotStartableError(ConflictError):
    """Not due, already running elsewhere, or finished (a duplicate delivery of its id)."""

    code = "job.not_startable"


class JobOutOfAttemptsError(ConflictError):
    code = "job.out_of_attempts"


class JobLeaseLostError(ConflictError):
    """The job's lease expired and another worker took it over."""

    code = "job.lease_lost"


class JobNotRetryableError(ConflictError):
    code = "job.not_retryable"


class JobNotCancelableError(ConflictError):
    code = "job.not_cancelable"


class JobChangedConcurrentlyError(ConflictError):
    """A worker changed the job between an administrator's read and write."""

    code = "job.changed"
