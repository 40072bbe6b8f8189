from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, cast
from uuid import UUID

from pydantic import BaseModel, Field

from app.application.interfaces.pipeline import ChunkHit
from app.application.use_cases.pipeline.get_result import ArtifactContent, PipelineResult
from app.domain.entities.pipeline import (
    PipelineRun,
    PipelineStep,
    RunStatus,
    StepName,
    StepStatus,
)
from app.presentation.api.v1.schemas.common import RequestBody


class PipelineRunCreate(RequestBody):
    resource_id: UUID
    file_id: UUID
    steps: Annotated[
        list[StepName] | None,
        Field(
            min_length=1,
            max_length=len(StepName),
            description="The file's plan up to a step, in order (default: all of it). Audio: "
            "transcribe, chunk, embed, index; PDF or text: extract, chunk, embed, index.",
        ),
    ] = None


class PipelineRunAccepted(BaseModel):
    run_id: UUID
    status: RunStatus


class PipelineStepOut(BaseModel):
    name: StepName
    status: StepStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    error: str | None

    @classmethod
    def of(cls, step: PipelineStep) -> PipelineStepOut:
        return cls(
            name=step.name,
            status=step.status,
            attempts=step.attempts,
            started_at=step.started_at,
            finished_at=step.finished_at,
            duration_ms=step.duration_ms,
            error=step.error,
        )


class PipelineRunOut(BaseModel):
    run_id: UUID
    resource_id: UUID
    file_id: UUID
    media_type: str
    status: RunStatus
    progress: Annotated[int, Field(ge=0, le=100)]
    steps: list[PipelineStepOut]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: PipelineRun) -> PipelineRunOut:
        return cls(
            run_id=run.id,
            resource_id=run.resource_id,
            file_id=run.file_id,
            media_type=run.media_type,
            status=run.status,
            progress=run.progress,
            steps=[PipelineStepOut.of(step) for step in run.steps],
            created_at=run.created_at,
            updated_at=run.updated_at,
            finished_at=run.finished_at,
        )


class PipelineArtifactOut(BaseModel):
    step: StepName
    kind: str = Field(description="transcript, text, chunks, embeddings or index")
    summary: dict[str, Any]
    text: str | None = Field(description="The transcript or extracted text; null for the others")
    created_at: datetime

    @classmethod
    def of(cls, content: ArtifactContent) -> PipelineArtifactOut:
        artifact = content.artifact
        return cls(
            step=artifact.step,
            kind=artifact.kind,
            summary=dict(artifact.summary),
            text=content.text,
            created_at=artifact.created_at,
        )


class PipelineResultOut(BaseModel):
    run_id: UUID
    artifacts: list[PipelineArtifactOut]

    @classmethod
    def of(cls, result: PipelineResult) -> PipelineResultOut:
        return cls(
            run_id=result.run.id,
            artifacts=[PipelineArtifactOut.of(content) for content in result.artifacts],
        )


class SearchHitOut(BaseModel):
    resource_id: UUID
    file_id: UUID
    run_id: UUID
    text: str
    start: int = Field(description="Offset of the chunk's first character in the run's text")
    end: int = Field(description="Offset just past its last character")
    score: float = Field(
        description="Higher is better, within one answer: cosine similarity (semantic), text "
        "rank (keyword) or reciprocal rank fusion of both (hybrid)"
    )

    @classmethod
    def of(cls, hit: ChunkHit) -> SearchHitOut:
        chunk = hit.chunk
        return cls(
            resource_id=chunk.resource_id,
            file_id=chunk.file_id,
            run_id=chunk.run_id,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            score=round(hit.score, 6),
        )


class SearchResults(BaseModel):
    items: list[SearchHitOut]


PERSONAL_DATA_SECTIONS = {
    "pipeline_runs": list[PipelineRunOut],
    "pipeline_artifacts": list[PipelineArtifactOut],
}


def personal_data_of(sections: Mapping[str, object]) -> dict[str, object]:
    runs = cast(list[PipelineRun], sections["pipeline_runs"])
    artifacts = cast(list[ArtifactContent], sections["pipeline_artifacts"])
    return {
        "pipeline_runs": [PipelineRunOut.of(run) for run in runs],
        "pipeline_artifacts": [PipelineArtifactOut.of(content) for content in artifacts],
    }
