"""A step whose job died (its worker vanished during the job's last attempt) fails its run, which
would otherwise show `running` for ever; the run can then be retried."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.use_cases.pipeline.run_step import STEP_JOB
from app.domain.entities.pipeline import StepName, StepStatus
from app.domain.events import DomainEvent
from app.domain.events.job import JobFailed


class FailAbandonedSteps:
    def __init__(self, unit_of_work: Callable[[], PipelineUnitOfWork], clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def __call__(self, event: DomainEvent) -> None:
        if not isinstance(event, JobFailed) or event.kind != STEP_JOB:
            return
        async with self._unit_of_work() as uow:
            job = await uow.jobs.get(event.job_id)
            if job is None:
                return
            run = await uow.pipeline_runs.get(UUID(str(job.payload["run_id"])))
            name = StepName(str(job.payload["step"]))
            if (
                run is None
                or run.status.is_finished
                or run.step(name).status is not StepStatus.RUNNING
            ):
                return
            expected = run.version
            run.fail_step(
                name, f"the job ran out of attempts ({event.error_type})", self._clock.now()
            )
            if await uow.pipeline_runs.update(run, expected_version=expected):
                await uow.commit()
