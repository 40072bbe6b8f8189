"""Ports of background jobs: where jobs are stored (the source of truth), how a job's id reaches a
worker, and what a kind of job does.

A use case stores a job and its `JobQueued` event in its own transaction (`services/jobs.py`
`JobFactory`); the outbox relay hands the event to the dispatcher, which sends the id through the
`JobEngine`. Anything a broker loses (a flush, a trimmed stream, a killed worker) is found again
in the table by the sweeper, so the broker needs no durability of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.application.interfaces.audit import AuditUnitOfWork
from app.application.interfaces.events import OutboxUnitOfWork
from app.domain.entities.job import Job, JobStatus

JOB = "job"  # the object type policy rules name


@dataclass(frozen=True, slots=True)
class JobFilter:
    kind: str | None = None
    status: JobStatus | None = None


class JobRepository(Protocol):
    async def add(self, job: Job) -> None: ...

    async def add_unless_duplicate(self, job: Job) -> bool:
        """Store the job unless one with its `dedupe_key` exists; True if stored."""
        ...

    async def get(self, job_id: UUID) -> Job | None: ...

    async def update(self, job: Job) -> bool:
        """Store the job's changes if nobody changed it since it was read (its `version`), and
        bump the version; False if somebody did (the caller lost a race and changes nothing)."""
        ...

    async def list_page(
        self, job_filter: JobFilter, *, before: UUID | None, limit: int
    ) -> list[Job]:
        """Newest first, those created before the job `before` (keyset pagination)."""
        ...

    async def due(self, now: datetime, *, sent_before: datetime, limit: int) -> list[UUID]:
        """Jobs a worker should be told about: queued and last sent before `sent_before` (the
        broker may have lost the message), failed with their backoff over, or running on a
        lease that expired (their worker died). Oldest first."""
        ...

    async def mark_sent(self, job_ids: Sequence[UUID], now: datetime) -> None:
        """Record that the jobs' ids went to the broker now (the sweeper waits before resending)."""
        ...

    async def running(self, limit: int) -> list[Job]: ...

    async def depth_by_kind(self) -> Mapping[tuple[str, JobStatus], int]:
        """How many jobs wait or run, by kind and status (the queue depth)."""
        ...

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Forget jobs that finished before `cutoff`; the number deleted."""
        ...


class JobUnitOfWork(OutboxUnitOfWork, Protocol):
    """Jobs and the outbox: a job's `JobQueued` (or `JobFailed`) is recorded with its change."""

    @property
    def jobs(self) -> JobRepository: ...


class JobAdminUnitOfWork(JobUnitOfWork, AuditUnitOfWork, Protocol):
    """What an administrator's retry or cancel touches: the job, its event, the audit trail."""


class JobHandler(Protocol):
    """What a kind of job does. It may run more than once for one job (a worker killed after
    the effect, before recording success), so it makes its effect idempotent."""

    async def __call__(self, job: Job) -> None: ...


class JobEngine(Protocol):
    """Carries job ids to workers (taskiq: in this process, or Redis Streams to `strata worker`)."""

    async def send(self, job_ids: Sequence[UUID]) -> None: ...


class JobObserver(Protocol):
    """Told what workers do, for metrics (`/metrics`) — never for control flow."""

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """One attempt ended: outcome `succeeded`, `failed` (will retry) or `dead`."""
        ...

    def queue_depth(self, depth: Mapping[tuple[str, JobStatus], int]) -> None: ...


class NoJobObserver:
    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        return None

    def queue_depth(self, depth: Mapping[tuple[str, JobStatus], int]) -> None:
        return None
