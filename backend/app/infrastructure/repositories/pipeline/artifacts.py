"""What the steps of a run made: one artifact per (run, step)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast
from uuid import UUID

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.pipeline import (
    PipelineArtifact,
    StepName,
)
from app.infrastructure.database.upsert import insert_if_absent
from app.infrastructure.models.pipeline import (
    PipelineArtifactModel,
)

_artifacts = cast(Table, PipelineArtifactModel.__table__)
_a = _artifacts.c

_ARTIFACTS_OF = select(_artifacts).where(_a.run_id == bindparam("run_id")).order_by(_a.created_at)
_ARTIFACTS_BY_OWNER = (
    select(_artifacts).where(_a.owner_id == bindparam("owner_id")).order_by(_a.run_id, _a.id)
)
_ARTIFACTS_OF_RUNS = select(_artifacts).where(_a.run_id.in_(bindparam("run_ids", expanding=True)))
_DELETE_ARTIFACTS_OF_RUNS = delete(_artifacts).where(
    _a.run_id.in_(bindparam("run_ids", expanding=True))
)


class SqlAlchemyPipelineArtifactRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_if_absent(self, artifact: PipelineArtifact) -> bool:
        return await insert_if_absent(
            self._connection,
            _artifacts,
            {
                "id": artifact.id,
                "run_id": artifact.run_id,
                "owner_id": artifact.owner_id,
                "step": artifact.step.value,
                "kind": artifact.kind,
                "summary": json.dumps(artifact.summary, sort_keys=True),
                "size": artifact.size,
                "sha256": artifact.sha256,
                "key_id": artifact.key_id,
                "wrapped_key": artifact.wrapped_key,
                "storage_key": artifact.storage_key,
                "created_at": artifact.created_at,
            },
        )

    async def list_for_run(self, run_id: UUID) -> list[PipelineArtifact]:
        result = await self._connection.execute(_ARTIFACTS_OF, {"run_id": run_id})
        return [_artifact(row) for row in result.mappings()]

    async def list_by_owner(self, owner_id: UUID) -> list[PipelineArtifact]:
        result = await self._connection.execute(_ARTIFACTS_BY_OWNER, {"owner_id": owner_id})
        return [_artifact(row) for row in result.mappings()]

    async def delete_for_runs(self, run_ids: Sequence[UUID]) -> list[PipelineArtifact]:
        if not run_ids:
            return []
        ids = list(run_ids)
        result = await self._connection.execute(_ARTIFACTS_OF_RUNS, {"run_ids": ids})
        deleted = [_artifact(row) for row in result.mappings()]
        await self._connection.execute(_DELETE_ARTIFACTS_OF_RUNS, {"run_ids": ids})
        return deleted


def _artifact(row: RowMapping) -> PipelineArtifact:
    return PipelineArtifact(
        id=row["id"],
        run_id=row["run_id"],
        owner_id=row["owner_id"],
        step=StepName(row["step"]),
        kind=row["kind"],
        summary=json.loads(row["summary"]),
        created_at=row["created_at"],
        size=row["size"],
        sha256=row["sha256"],
        key_id=row["key_id"],
        wrapped_key=row["wrapped_key"],
        storage_key=row["storage_key"],
    )
