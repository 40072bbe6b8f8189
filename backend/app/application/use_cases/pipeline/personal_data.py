"""The pipeline feature's share of GDPR export and erasure (see `interfaces/privacy.py`): the
caller's runs and their artifacts, texts decrypted in the export; erasure deletes runs, chunks
and artifacts in the transaction and the encrypted texts once it has committed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.interfaces.privacy import AfterErasure
from app.application.interfaces.resource import FileStorage
from app.application.use_cases.pipeline.artifacts import artifact_file, discard_runs_data
from app.application.use_cases.pipeline.get_result import ArtifactContent
from app.domain.entities.user import User


class PipelinePersonalData:
    unit_of_work = PipelineUnitOfWork

    def __init__(self, storage: FileStorage) -> None:
        self._storage = storage

    async def export(
        self, uow: PipelineUnitOfWork, user: User, now: datetime
    ) -> Mapping[str, object]:
        runs = await uow.pipeline_runs.list_by_owner(user.id)
        by_id = {run.id: run for run in runs}
        artifacts = []
        for artifact in await uow.pipeline_artifacts.list_by_owner(user.id):
            text = None
            run = by_id.get(artifact.run_id)
            if artifact.storage_key is not None and run is not None:
                stored = artifact_file(artifact, run)
                text = b"".join([piece async for piece in self._storage.open(stored)]).decode()
            artifacts.append(ArtifactContent(artifact, text))
        return {"pipeline_runs": runs, "pipeline_artifacts": artifacts}

    async def erase(
        self, uow: PipelineUnitOfWork, user: User, now: datetime
    ) -> AfterErasure | None:
        runs = await uow.pipeline_runs.list_by_owner(user.id)
        storage_keys = await discard_runs_data(uow, [run.id for run in runs])
        await uow.pipeline_chunks.delete_by_owner(user.id)
        await uow.pipeline_runs.delete_by_owner(user.id)
        storage = self._storage

        async def delete_texts() -> None:
            await storage.delete_all(storage_keys)

        return delete_texts
