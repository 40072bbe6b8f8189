from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.services.jobs import JobFactory
from app.application.use_cases.pipeline.authorization import authorized_run
from app.application.use_cases.pipeline.run_step import step_job
from app.domain.entities.pipeline import PipelineRun, PipelineRunNotFoundError, RunNotRetryableError
from app.domain.entities.user import User


class RetryPipelineRun:
    """Resume a failed run from its first unfinished step (409 for a run that has not failed)."""

    def __init__(
        self,
        uow: PipelineUnitOfWork,
        policy: AccessPolicy,
        jobs: JobFactory,
        relay: EventRelay,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._jobs = jobs
        self._relay = relay
        self._clock = clock

    async def execute(self, actor: User, run_id: UUID) -> PipelineRun:
        await authorized_run(self._uow, self._policy, actor, run_id, "update")
        async with self._uow as uow:
            run = await uow.pipeline_runs.get(run_id)
            if run is None:
                raise PipelineRunNotFoundError()
            expected = run.version
            step = run.retry(self._clock.now())
            kind, payload = step_job(run.id, step.name)
            _, queued = await self._jobs.enqueue(uow, kind, payload, owner_id=run.owner_id)
            if not await uow.pipeline_runs.update(run, expected_version=expected):
                # Another retry got there first: this one is not a second run of the steps.
                raise RunNotRetryableError(status="queued")
            await uow.commit()
        await self._relay.relay([queued])
        return run
