"""What happens to a background job, told through the outbox like every other fact."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class JobEvent(DomainEvent):
    job_id: UUID
    kind: str

    @property
    def aggregate_id(self) -> UUID | None:
        return self.job_id


class JobQueued(JobEvent):
    """A job was stored: relaying this event is what hands its id to a worker, so a job is sent
    if and only if the transaction that made it committed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFailed(JobEvent):
    """A job ran out of attempts (or cannot run here) and is dead."""

    attempts: int
    error_type: str  # the failure's class only: its message may carry data, and stays in the row
