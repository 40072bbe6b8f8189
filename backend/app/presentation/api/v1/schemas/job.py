from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from app.domain.entities.job import Job, JobStatus


class JobOut(BaseModel):
    id: UUID
    kind: str
    status: JobStatus
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    last_error: str | None
    owner_id: UUID | None
    worker: str | None  # who runs it now
    created_at: datetime
    updated_at: datetime
    run_after: datetime  # the next attempt starts no earlier
    lease_expires_at: datetime | None
    finished_at: datetime | None
    version: int

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            payload=dict(job.payload),
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            last_error=job.last_error,
            owner_id=job.owner_id,
            worker=job.worker,
            created_at=job.created_at,
            updated_at=job.updated_at,
            run_after=job.run_after,
            lease_expires_at=job.lease_expires_at,
            finished_at=job.finished_at,
            version=job.version,
        )
