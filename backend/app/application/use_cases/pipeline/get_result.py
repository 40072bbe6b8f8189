from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.interfaces.resource import FileStorage
from app.application.use_cases.pipeline.artifacts import artifact_file
from app.application.use_cases.pipeline.authorization import authorized_run
from app.domain.entities.pipeline import (
    PipelineArtifact,
    PipelineRun,
    RunNotFinishedError,
    RunStatus,
)
from app.domain.entities.user import User


@dataclass(frozen=True, slots=True)
class ArtifactContent:
    artifact: PipelineArtifact
    text: str | None  # the decrypted text, for the steps that made one


@dataclass(frozen=True, slots=True)
class PipelineResult:
    run: PipelineRun
    artifacts: list[ArtifactContent]


class GetPipelineResult:
    """The artifacts of a succeeded run, texts decrypted; any other run → 409 (not finished)."""

    def __init__(self, uow: PipelineUnitOfWork, policy: AccessPolicy, storage: FileStorage) -> None:
        self._uow = uow
        self._policy = policy
        self._storage = storage

    async def execute(self, actor: User, run_id: UUID) -> PipelineResult:
        run = await authorized_run(self._uow, self._policy, actor, run_id, "read")
        if run.status is not RunStatus.SUCCEEDED:
            raise RunNotFinishedError(status=run.status.value)
        async with self._uow as uow:
            artifacts = await uow.pipeline_artifacts.list_for_run(run_id)
        contents = []
        for artifact in sorted(artifacts, key=lambda a: [s.name for s in run.steps].index(a.step)):
            text = None
            if artifact.storage_key is not None:
                stored = artifact_file(artifact, run)
                text = b"".join([piece async for piece in self._storage.open(stored)]).decode()
            contents.append(ArtifactContent(artifact, text))
        return PipelineResult(run, contents)
