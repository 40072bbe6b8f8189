"""The job feature: background jobs stored in the `jobs` table, carried by taskiq (in-process, or
Redis Streams to `strata worker`), swept, retried, and shown to administrators."""

from datetime import timedelta

from app.application.interfaces.job import JOB, JobAdminUnitOfWork, JobUnitOfWork
from app.infrastructure.repositories.job import SqlAlchemyJobRepository
from app.presentation.api.messages import job as messages
from app.presentation.api.v1.dependencies import job as dependencies
from app.presentation.api.v1.routers import job as routers
from app.presentation.features.feature import Feature, JobDefinition

FEATURE = Feature(
    key="job",
    routers=(routers.router,),
    repositories={"jobs": SqlAlchemyJobRepository},
    units_of_work=(JobUnitOfWork, JobAdminUnitOfWork),
    messages=messages.MESSAGES,
    object_types=(JOB,),
    providers=dependencies.PROVIDERS,
    on_start=dependencies.send_queued_jobs,
    metrics=dependencies.track_jobs,
    bootstrap=dependencies.start_jobs,
    settings=dependencies.JobSettings,
    jobs=(
        JobDefinition(
            name="job.forget_finished",
            handler=dependencies.forget_finished_jobs,
            every=timedelta(days=1),
        ),
    ),
)
