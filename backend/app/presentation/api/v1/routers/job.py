"""Background jobs for administrators (API.md "Jobs"): look at them, run one again, cancel one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from app.application.interfaces.job import JobFilter
from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.domain.entities.job import JobStatus
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.dependencies.job import (
    CancelJobDep,
    GetJobDep,
    ListJobsDep,
    RetryJobDep,
)
from app.presentation.api.v1.schemas.common import CursorPage
from app.presentation.api.v1.schemas.job import JobOut

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/admin/jobs", tags=["jobs"])

KIND_PATTERN = r"^[a-z0-9_.-]+$"


@router.get(
    "", responses=problem_responses(400, 401, 403, 422), summary="Background jobs, newest first"
)
async def list_jobs(
    actor: CurrentUser,
    list_jobs: ListJobsDep,
    kind: Annotated[str | None, Query(max_length=100, pattern=KIND_PATTERN)] = None,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> CursorPage[JobOut]:
    page = await list_jobs.execute(
        actor, JobFilter(kind=kind, status=status), limit=limit, cursor=cursor
    )
    return CursorPage(items=[JobOut.of(job) for job in page.items], next_cursor=page.next_cursor)


@router.get("/{job_id}", responses=problem_responses(401, 403, 404, 422), summary="One job")
async def get_job(actor: CurrentUser, get_job: GetJobDep, job_id: UUID) -> JobOut:
    return JobOut.of(await get_job.execute(actor, job_id))


@router.post(
    "/{job_id}/retry",
    status_code=202,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Run a failed, dead or canceled job again (202: queued, with fresh attempts)",
)
async def retry_job(
    actor: CurrentUser, retry_job: RetryJobDep, job_id: UUID, context: RequestContextDep
) -> JobOut:
    return JobOut.of(await retry_job.execute(actor, job_id, context))


@router.post(
    "/{job_id}/cancel",
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Cancel a queued or failed job (a running one cannot be taken back: 409)",
)
async def cancel_job(
    actor: CurrentUser, cancel_job: CancelJobDep, job_id: UUID, context: RequestContextDep
) -> JobOut:
    return JobOut.of(await cancel_job.execute(actor, job_id, context))
