"""The pipeline feature's settings, providers (the step models), jobs and event handlers, and the
use cases its routes get.

The models are chosen by settings (`FEATURES__PIPELINE__<NAME>`): offline ones from packages by
default (pocketsphinx; all-MiniLM-L6-v2 on NumPy), or any server speaking the OpenAI-compatible
protocol (`…_URL` set). Each HTTP model gets its own circuit breaker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.exc import InterfaceError, OperationalError

from app.application.interfaces.pipeline import (
    Embedder,
    PipelineStepRunner,
    PipelineUnitOfWork,
    TextExtractor,
    Transcriber,
)
from app.application.services.chunking import ChunkingPolicy
from app.application.services.pipeline_steps import default_steps
from app.application.use_cases.pipeline.cancel_runs_of_deleted_files import (
    CancelRunsOfDeletedFiles,
)
from app.application.use_cases.pipeline.fail_abandoned_steps import FailAbandonedSteps
from app.application.use_cases.pipeline.follow_run import FollowPipelineRun
from app.application.use_cases.pipeline.get_result import GetPipelineResult
from app.application.use_cases.pipeline.get_run import GetPipelineRun
from app.application.use_cases.pipeline.list_runs import ListPipelineRuns
from app.application.use_cases.pipeline.reembed_runs import ReembedRuns
from app.application.use_cases.pipeline.retry_run import RetryPipelineRun
from app.application.use_cases.pipeline.run_step import RunPipelineStep
from app.application.use_cases.pipeline.search_chunks import SearchChunks
from app.application.use_cases.pipeline.start_run import StartPipelineRun
from app.domain.entities.pipeline import StepName
from app.domain.events.job import JobFailed
from app.domain.events.resource import FileDeleted, ResourceDeleted
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker
from app.infrastructure.adapters.embedding.minilm import PackagedMiniLmEmbedder
from app.infrastructure.adapters.embedding.openai_compatible import OpenAiCompatibleEmbedder
from app.infrastructure.adapters.text_extraction import DocumentTextExtractor
from app.infrastructure.adapters.transcription.openai_compatible import (
    OpenAiCompatibleTranscriber,
)
from app.infrastructure.adapters.transcription.pocketsphinx import PocketSphinxTranscriber
from app.infrastructure.repositories.pipeline.vectors import prepare_vector_index
from app.presentation.api.v1.dependencies.common import container_of
from app.presentation.container import Container, Provider, ProviderKey
from app.presentation.shared_providers import FILE_STORAGE, JOB_FACTORY

logger = logging.getLogger("strata.pipelines")


class PipelineSettings(BaseModel):
    """`FEATURES__PIPELINE__<NAME>` settings."""

    model_config = ConfigDict(extra="forbid")

    # Speech to text: the packaged recogniser, or an OpenAI-compatible server when its URL is set.
    transcription_url: str | None = None
    transcription_model: str = "whisper-1"
    transcription_api_key: SecretStr | None = None
    max_audio_seconds: float = Field(default=2 * 3600, gt=0, le=24 * 3600)
    # Texts to vectors: the packaged model, or an OpenAI-compatible server when its URL is set
    # (then name its model and the dimension of its vectors).
    embedding_url: str | None = None
    embedding_model: str = "text-embedding-3-small"
    embedding_dimension: int = Field(default=1536, ge=2, le=16_000)
    embedding_api_key: SecretStr | None = None
    embedding_batch_size: int = Field(default=32, ge=1, le=2_048)
    # Model servers: time limits, retries, and the circuit breaker of each.
    connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    read_timeout_seconds: float = Field(default=120.0, gt=0, le=3_600)
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_base_delay_seconds: float = Field(default=0.5, ge=0, le=60)
    retry_max_delay_seconds: float = Field(default=8.0, ge=0, le=600)
    breaker_failure_threshold: int = Field(default=5, ge=1, le=1_000)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0, le=3_600)
    # Chunks: sentences up to this many of the model's tokens, overlapping by this many.
    chunk_max_tokens: int = Field(default=128, ge=16, le=8_192)
    chunk_overlap_tokens: int = Field(default=24, ge=0, le=1_024)
    max_pdf_pages: int = Field(default=2_000, ge=1, le=100_000)
    # How often an event stream looks for a run's changes (they may come from any process).
    events_poll_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    # How long a worker holds a running step without renewing it (it renews every third of
    # that): a worker that died in a step loses it to another this long after.
    step_hold_seconds: float = Field(default=60.0, ge=3, le=3_600)


TRANSCRIBER = ProviderKey[Transcriber]("pipeline.transcriber")
EMBEDDER = ProviderKey[Embedder]("pipeline.embedder")
TEXT_EXTRACTOR = ProviderKey[TextExtractor]("pipeline.text_extractor")
STEPS = ProviderKey[Mapping[StepName, PipelineStepRunner]]("pipeline.steps")


def _settings(container: Container) -> PipelineSettings:
    return container.settings_of(PipelineSettings)


def _breaker(settings: PipelineSettings) -> CircuitBreaker:
    return CircuitBreaker(
        failure_threshold=settings.breaker_failure_threshold,
        cooldown_seconds=settings.breaker_cooldown_seconds,
    )


def _http_options(settings: PipelineSettings) -> dict[str, Any]:
    return {
        "connect_timeout_seconds": settings.connect_timeout_seconds,
        "read_timeout_seconds": settings.read_timeout_seconds,
        "max_retries": settings.max_retries,
        "retry_base_delay_seconds": settings.retry_base_delay_seconds,
        "retry_max_delay_seconds": settings.retry_max_delay_seconds,
        "breaker": _breaker(settings),
    }


def build_transcriber(container: Container) -> Transcriber:
    settings = _settings(container)
    if settings.transcription_url is None:
        return PocketSphinxTranscriber(max_audio_seconds=settings.max_audio_seconds)
    key = settings.transcription_api_key
    return OpenAiCompatibleTranscriber(
        base_url=settings.transcription_url,
        model=settings.transcription_model,
        api_key=key.get_secret_value() if key is not None else None,
        **_http_options(settings),
    )


def build_embedder(container: Container) -> Embedder:
    settings = _settings(container)
    if settings.embedding_url is None:
        return PackagedMiniLmEmbedder(batch_size=settings.embedding_batch_size)
    key = settings.embedding_api_key
    return OpenAiCompatibleEmbedder(
        base_url=settings.embedding_url,
        model_name=settings.embedding_model,
        dimension=settings.embedding_dimension,
        api_key=key.get_secret_value() if key is not None else None,
        batch_size=settings.embedding_batch_size,
        **_http_options(settings),
    )


def _build_steps(container: Container) -> Mapping[StepName, PipelineStepRunner]:
    settings = _settings(container)
    return default_steps(
        container.get(TRANSCRIBER),
        container.get(TEXT_EXTRACTOR),
        container.get(EMBEDDER),
        ChunkingPolicy(
            max_tokens=settings.chunk_max_tokens, overlap_tokens=settings.chunk_overlap_tokens
        ),
    )


async def _close(adapter: object) -> None:
    close = getattr(adapter, "close", None)
    if close is not None:
        await close()


PROVIDERS = (
    Provider(key=TRANSCRIBER, build=build_transcriber, close=_close),
    Provider(key=EMBEDDER, build=build_embedder, close=_close),
    Provider(
        key=TEXT_EXTRACTOR,
        build=lambda container: DocumentTextExtractor(max_pages=_settings(container).max_pdf_pages),
    ),
    Provider(key=STEPS, build=_build_steps),
)


# ------------------------------------------------------------------------ jobs and handlers
def _unit_of_work(container: Container) -> PipelineUnitOfWork:
    return container.unit_of_work(PipelineUnitOfWork)


def step_hold(container: Container) -> timedelta:
    return timedelta(seconds=_settings(container).step_hold_seconds)


def run_pipeline_step(container: Container) -> RunPipelineStep:
    return RunPipelineStep(
        lambda: _unit_of_work(container),
        container.get(STEPS),
        container.get(FILE_STORAGE),
        container.get(JOB_FACTORY),
        container.event_relay,
        container.clock,
    )


def reembed_runs(container: Container) -> ReembedRuns:
    return ReembedRuns(lambda: _unit_of_work(container), container.get(EMBEDDER))


def follow_deletions_and_dead_jobs(container: Container) -> None:
    """A deleted file cancels its runs; a step job that died fails its run."""
    cancel = CancelRunsOfDeletedFiles(
        lambda: _unit_of_work(container), container.get(FILE_STORAGE), container.clock
    )
    container.event_publisher.subscribe(FileDeleted, cancel, name="pipeline.cancel_for_file")
    container.event_publisher.subscribe(
        ResourceDeleted, cancel, name="pipeline.cancel_for_resource"
    )
    container.event_publisher.subscribe(
        JobFailed,
        FailAbandonedSteps(lambda: _unit_of_work(container), container.clock),
        name="pipeline.fail_abandoned_step",
    )


async def prepare_index(container: Container) -> None:
    """At start-up: set pgvector up where the database has it (a database not answering yet is
    left to readiness, as for migrations). `/health/ready` names the index in use."""
    model = container.get(EMBEDDER).model
    try:
        async with container.database.engine.begin() as connection:
            await prepare_vector_index(connection, model)
    except (OperationalError, InterfaceError, OSError) as error:
        logger.warning("vector index not prepared", extra={"error": type(error).__name__})
    container.readiness_checks["vector_index"] = lambda: _vector_index_in_use(container)


async def _vector_index_in_use(container: Container) -> str:
    """`pgvector-hnsw` or `exact`: what readiness reports beside "ok"."""
    async with container.read_unit_of_work(PipelineUnitOfWork) as uow:
        return str(await uow.chunk_vectors.name())


# ------------------------------------------------------------------------------- use cases
async def get_start_run(request: Request) -> StartPipelineRun:
    container = container_of(request)
    return StartPipelineRun(
        container.unit_of_work(PipelineUnitOfWork),
        container.access_policy,
        container.get(JOB_FACTORY),
        container.idempotency_keys,
        container.event_relay,
        container.clock,
    )


async def get_list_runs(request: Request) -> ListPipelineRuns:
    return ListPipelineRuns(container_of(request).read_unit_of_work(PipelineUnitOfWork))


async def get_get_run(request: Request) -> GetPipelineRun:
    container = container_of(request)
    return GetPipelineRun(container.read_unit_of_work(PipelineUnitOfWork), container.access_policy)


async def get_get_result(request: Request) -> GetPipelineResult:
    container = container_of(request)
    return GetPipelineResult(
        container.read_unit_of_work(PipelineUnitOfWork),
        container.access_policy,
        container.get(FILE_STORAGE),
    )


async def get_follow_run(request: Request) -> FollowPipelineRun:
    container = container_of(request)
    return FollowPipelineRun(
        container.read_unit_of_work(PipelineUnitOfWork),
        container.access_policy,
        poll_interval_seconds=_settings(container).events_poll_interval_seconds,
    )


async def get_retry_run(request: Request) -> RetryPipelineRun:
    container = container_of(request)
    return RetryPipelineRun(
        container.unit_of_work(PipelineUnitOfWork),
        container.access_policy,
        container.get(JOB_FACTORY),
        container.event_relay,
        container.clock,
    )


async def get_search(request: Request) -> SearchChunks:
    container = container_of(request)
    return SearchChunks(
        container.read_unit_of_work(PipelineUnitOfWork),
        container.access_policy,
        container.get(EMBEDDER),
    )


StartRunDep = Annotated[StartPipelineRun, Depends(get_start_run)]
ListRunsDep = Annotated[ListPipelineRuns, Depends(get_list_runs)]
GetRunDep = Annotated[GetPipelineRun, Depends(get_get_run)]
GetResultDep = Annotated[GetPipelineResult, Depends(get_get_result)]
FollowRunDep = Annotated[FollowPipelineRun, Depends(get_follow_run)]
RetryRunDep = Annotated[RetryPipelineRun, Depends(get_retry_run)]
SearchDep = Annotated[SearchChunks, Depends(get_search)]
