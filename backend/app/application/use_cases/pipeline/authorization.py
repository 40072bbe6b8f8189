"""Who may see and act on a run: its owner (the owner of the file it reads) and administrators.
To anybody else a run does not exist (not found), as with resources. The policy is asked while no
transaction is open (see `use_cases/resource/authorization.py`)."""

from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.pipeline import PIPELINE, PipelineUnitOfWork
from app.domain.entities.pipeline import PipelineRun, PipelineRunNotFoundError
from app.domain.entities.user import User


async def authorized_run(
    uow: PipelineUnitOfWork, policy: AccessPolicy, actor: User, run_id: UUID, action: str
) -> PipelineRun:
    async with uow:
        run = await uow.pipeline_runs.get(run_id)
    if run is None or not await policy.allows(actor, action, PIPELINE, owner_id=run.owner_id):
        raise PipelineRunNotFoundError()
    return run
