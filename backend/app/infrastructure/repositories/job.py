from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.job import JobFilter
from app.domain.entities.job import Job, JobStatus
from app.infrastructure.database.upsert import insert_if_absent
from app.infrastructure.models.job import JobModel

_jobs = cast(Table, JobModel.__table__)
_j = _jobs.c
# What the queue-depth gauge counts: the finished-for-good dead ones too, until retention.
_COUNTED = tuple(
    status.value
    for status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED, JobStatus.DEAD)
)
_FINISHED = tuple(status.value for status in JobStatus if status.is_final)

_GET = select(_jobs).where(_j.id == bindparam("id"))
_UPDATE = (
    update(_jobs)
    .where(_j.id == bindparam("job_id"), _j.version == bindparam("expected_version"))
    .values(
        status=bindparam("status"),
        attempts=bindparam("attempts"),
        last_error=bindparam("last_error"),
        updated_at=bindparam("updated_at"),
        run_after=bindparam("run_after"),
        worker=bindparam("worker"),
        lease_expires_at=bindparam("lease_expires_at"),
        finished_at=bindparam("finished_at"),
        version=bindparam("new_version"),
    )
)
_DUE = (
    select(_j.id)
    .where(
        or_(
            and_(_j.status == JobStatus.QUEUED.value, _j.sent_at < bindparam("sent_before")),
            # Sent once when its backoff or its dead worker's lease ends; again only if no worker
            # has started it `resend_after` later (the message was lost).
            and_(
                _j.status == JobStatus.FAILED.value,
                _j.run_after <= bindparam("now"),
                or_(_j.sent_at < _j.run_after, _j.sent_at < bindparam("sent_before")),
            ),
            and_(
                _j.status == JobStatus.RUNNING.value,
                _j.lease_expires_at <= bindparam("now"),
                or_(_j.sent_at < _j.lease_expires_at, _j.sent_at < bindparam("sent_before")),
            ),
        )
    )
    .order_by(_j.run_after, _j.id)
    .limit(bindparam("limit"))
)
_MARK_SENT = (
    update(_jobs)
    .where(_j.id.in_(bindparam("job_ids", expanding=True)))
    .values(sent_at=bindparam("now"))
)
_RUNNING = (
    select(_jobs)
    .where(_j.status == JobStatus.RUNNING.value)
    .order_by(_j.id)
    .limit(bindparam("limit"))
)
_DEPTH = (
    select(_j.kind, _j.status, func.count())
    .where(_j.status.in_(_COUNTED))
    .group_by(_j.kind, _j.status)
)
_DELETE_FINISHED = delete(_jobs).where(
    _j.status.in_(_FINISHED), _j.finished_at < bindparam("cutoff")
)


class SqlAlchemyJobRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, job: Job) -> None:
        await self._connection.execute(insert(_jobs).values(_row(job)))

    async def add_unless_duplicate(self, job: Job) -> bool:
        # ON CONFLICT DO NOTHING on the unique dedupe_key: the loser's transaction stays usable.
        return await insert_if_absent(self._connection, _jobs, _row(job))

    async def get(self, job_id: UUID) -> Job | None:
        row = (await self._connection.execute(_GET, {"id": job_id})).mappings().first()
        return _job(row) if row is not None else None

    async def update(self, job: Job) -> bool:
        result = await self._connection.execute(
            _UPDATE,
            {
                "job_id": job.id,
                "expected_version": job.version,
                "new_version": job.version + 1,
                "status": job.status.value,
                "attempts": job.attempts,
                "last_error": job.last_error,
                "updated_at": job.updated_at,
                "run_after": job.run_after,
                "worker": job.worker,
                "lease_expires_at": job.lease_expires_at,
                "finished_at": job.finished_at,
            },
        )
        if result.rowcount != 1:
            return False
        job.version += 1
        return True

    async def list_page(
        self, job_filter: JobFilter, *, before: UUID | None, limit: int
    ) -> list[Job]:
        query = select(_jobs).order_by(_j.id.desc()).limit(limit)
        if job_filter.kind is not None:
            query = query.where(_j.kind == job_filter.kind)
        if job_filter.status is not None:
            query = query.where(_j.status == job_filter.status.value)
        if before is not None:
            query = query.where(_j.id < before)
        result = await self._connection.execute(query)
        return [_job(row) for row in result.mappings()]

    async def due(self, now: datetime, *, sent_before: datetime, limit: int) -> list[UUID]:
        result = await self._connection.execute(
            _DUE, {"now": now, "sent_before": sent_before, "limit": limit}
        )
        return list(result.scalars())

    async def mark_sent(self, job_ids: Sequence[UUID], now: datetime) -> None:
        if job_ids:
            await self._connection.execute(_MARK_SENT, {"job_ids": list(job_ids), "now": now})

    async def running(self, limit: int) -> list[Job]:
        result = await self._connection.execute(_RUNNING, {"limit": limit})
        return [_job(row) for row in result.mappings()]

    async def depth_by_kind(self) -> Mapping[tuple[str, JobStatus], int]:
        result = await self._connection.execute(_DEPTH)
        return {(kind, JobStatus(status)): count for kind, status, count in result.all()}

    async def delete_finished_before(self, cutoff: datetime) -> int:
        result = await self._connection.execute(_DELETE_FINISHED, {"cutoff": cutoff})
        return int(result.rowcount)


def _row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "payload": json.dumps(dict(job.payload)),
        "status": job.status.value,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "last_error": job.last_error,
        "owner_id": job.owner_id,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "run_after": job.run_after,
        "sent_at": job.created_at,  # its JobQueued event sends it as soon as it is committed
        "worker": job.worker,
        "lease_expires_at": job.lease_expires_at,
        "finished_at": job.finished_at,
        "dedupe_key": job.dedupe_key,
        "version": job.version,
    }


def _job(row: RowMapping) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        status=JobStatus(row["status"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        last_error=row["last_error"],
        owner_id=row["owner_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        run_after=row["run_after"],
        worker=row["worker"],
        lease_expires_at=row["lease_expires_at"],
        finished_at=row["finished_at"],
        dedupe_key=row["dedupe_key"],
        version=row["version"],
    )
