from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.use_cases.pipeline.authorization import authorized_run
from app.domain.entities.pipeline import PipelineRun
from app.domain.entities.user import User


class GetPipelineRun:
    """A run's status, progress and steps."""

    def __init__(self, uow: PipelineUnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(self, actor: User, run_id: UUID) -> PipelineRun:
        return await authorized_run(self._uow, self._policy, actor, run_id, "read")
