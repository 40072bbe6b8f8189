"""What the pipeline's use cases share about artifacts and a run's stored data."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.domain.entities.pipeline import PipelineArtifact, PipelineRun
from app.domain.entities.resource import StoredFile


def artifact_file(artifact: PipelineArtifact, run: PipelineRun) -> StoredFile:
    """The artifact's encrypted text as the file storage reads it (its own id and data key)."""
    if artifact.storage_key is None or artifact.key_id is None or artifact.wrapped_key is None:
        raise ValueError("the artifact has no stored text")
    return StoredFile(
        id=artifact.id,
        resource_id=run.resource_id,
        owner_id=run.owner_id,
        filename=f"{artifact.kind}.txt",
        content_type="text/plain",
        size=artifact.size or 0,
        sha256=artifact.sha256 or "",
        key_id=artifact.key_id,
        wrapped_key=artifact.wrapped_key,
        storage_key=artifact.storage_key,
        created_at=artifact.created_at,
    )


async def discard_runs_data(uow: PipelineUnitOfWork, run_ids: Sequence[UUID]) -> list[str]:
    """Delete the runs' chunks and artifacts in the caller's transaction; the storage keys of the
    artifacts' texts, for the caller to remove once it has committed."""
    await uow.pipeline_chunks.delete_for_runs(run_ids)
    deleted = await uow.pipeline_artifacts.delete_for_runs(run_ids)
    return [artifact.storage_key for artifact in deleted if artifact.storage_key is not None]
