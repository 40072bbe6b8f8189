"""The pipeline feature: media pipelines (transcribe or extract → chunk → embed → index) run as
background jobs over the caller's files, and hybrid search over what they indexed."""

from datetime import timedelta

from app.application.interfaces.pipeline import (
    PIPELINE_OBJECT_TYPES,
    PIPELINE_POLICY_RULES,
    MediaUnreadableError,
    PipelineUnitOfWork,
    UnsupportedPipelineMediaError,
)
from app.application.use_cases.pipeline.personal_data import PipelinePersonalData
from app.application.use_cases.pipeline.reembed_runs import REEMBED_JOB
from app.application.use_cases.pipeline.run_step import STEP_JOB
from app.domain.entities.job import RetryPolicy
from app.infrastructure.repositories.pipeline import (
    SqlAlchemyChunkRepository,
    SqlAlchemyPipelineArtifactRepository,
    SqlAlchemyPipelineRunRepository,
)
from app.infrastructure.repositories.pipeline.vectors import SqlVectorIndex
from app.presentation.api.messages import pipeline as messages
from app.presentation.api.v1.dependencies import pipeline as dependencies
from app.presentation.api.v1.routers import pipeline as routers
from app.presentation.api.v1.schemas import pipeline as schemas
from app.presentation.features.feature import Feature, JobDefinition, PersonalDataPart
from app.presentation.shared_providers import FILE_STORAGE

FEATURE = Feature(
    key="pipeline",
    routers=(routers.router,),
    repositories={
        "pipeline_runs": SqlAlchemyPipelineRunRepository,
        "pipeline_artifacts": SqlAlchemyPipelineArtifactRepository,
        "pipeline_chunks": SqlAlchemyChunkRepository,
        "chunk_vectors": SqlVectorIndex,
    },
    units_of_work=(PipelineUnitOfWork,),
    # The request is well formed; the file is what no pipeline reads (or cannot be read).
    error_statuses={UnsupportedPipelineMediaError: 422, MediaUnreadableError: 422},
    messages=messages.MESSAGES,
    object_types=PIPELINE_OBJECT_TYPES,
    policy_rules=PIPELINE_POLICY_RULES,
    providers=dependencies.PROVIDERS,
    on_start=dependencies.follow_deletions_and_dead_jobs,
    bootstrap=dependencies.prepare_index,
    personal_data=PersonalDataPart(
        holder=lambda container: PipelinePersonalData(container.get(FILE_STORAGE)),
        sections=schemas.PERSONAL_DATA_SECTIONS,
        present=schemas.personal_data_of,
    ),
    settings=dependencies.PipelineSettings,
    jobs=(
        JobDefinition(
            name=STEP_JOB,
            handler=dependencies.run_pipeline_step,
            # A model server away for a while is waited for; unreadable input fails at once.
            retry=RetryPolicy(
                max_attempts=4,
                backoff_base=timedelta(seconds=2),
                backoff_cap=timedelta(minutes=2),
            ),
            # A running step renews its hold every third of it, however long it takes; a worker
            # that died in one (killed, its machine gone) loses it to another within the hold.
            visibility_timeout=dependencies.step_hold,
        ),
        JobDefinition(
            name=REEMBED_JOB,
            handler=dependencies.reembed_runs,
            every=timedelta(minutes=10),
        ),
    ),
)
