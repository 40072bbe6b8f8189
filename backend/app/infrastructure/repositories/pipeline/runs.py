"""Runs, and the log of their changes that a run's event stream reads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.pipeline import (
    PipelineRun,
    PipelineStep,
    RunStatus,
    StepName,
    StepStatus,
)
from app.infrastructure.models.pipeline import (
    PipelineRunChangeModel,
    PipelineRunModel,
)

_runs = cast(Table, PipelineRunModel.__table__)
_changes = cast(Table, PipelineRunChangeModel.__table__)
_r = _runs.c

_GET = select(_runs).where(_r.id == bindparam("run_id"))
_UPDATE = (
    update(_runs)
    .where(_r.id == bindparam("run_id"), _r.version == bindparam("expected_version"))
    .values(
        status=bindparam("status"),
        steps=bindparam("steps"),
        progress=bindparam("progress"),
        updated_at=bindparam("updated_at"),
        finished_at=bindparam("finished_at"),
        version=bindparam("version"),
    )
)
_PAGE = {
    (owned, after): (
        select(_runs)
        .where(*([_r.owner_id == bindparam("owner_id")] if owned else []))
        .where(*([_r.id > bindparam("after")] if after else []))
        .order_by(_r.id)
        .limit(bindparam("limit"))
    )
    for owned in (False, True)
    for after in (False, True)
}
_FOR_FILE = select(_runs).where(_r.file_id == bindparam("file_id")).order_by(_r.id)
_FOR_RESOURCE = select(_runs).where(_r.resource_id == bindparam("resource_id")).order_by(_r.id)
_BY_OWNER = select(_runs).where(_r.owner_id == bindparam("owner_id")).order_by(_r.id)
_CHANGES_AFTER = (
    select(_changes.c.snapshot)
    .where(_changes.c.run_id == bindparam("run_id"), _changes.c.version > bindparam("version"))
    .order_by(_changes.c.version)
)
_DELETE_BY_OWNER = delete(_runs).where(_r.owner_id == bindparam("owner_id"))


class SqlAlchemyPipelineRunRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, run: PipelineRun) -> None:
        row = _run_row(run)
        await self._connection.execute(insert(_runs), row)
        await self._record_change(run, row)

    async def get(self, run_id: UUID) -> PipelineRun | None:
        row = (await self._connection.execute(_GET, {"run_id": run_id})).mappings().first()
        return _run(row) if row is not None else None

    async def update(self, run: PipelineRun, *, expected_version: int) -> bool:
        row = _run_row(run)
        result = await self._connection.execute(
            _UPDATE, {**row, "run_id": run.id, "expected_version": expected_version}
        )
        if result.rowcount != 1:
            return False
        await self._record_change(run, row)
        return True

    async def list_page(
        self, *, owner_id: UUID | None, after: UUID | None, limit: int
    ) -> list[PipelineRun]:
        statement = _PAGE[(owner_id is not None, after is not None)]
        result = await self._connection.execute(
            statement, {"owner_id": owner_id, "after": after, "limit": limit}
        )
        return [_run(row) for row in result.mappings()]

    async def list_for_file(self, file_id: UUID) -> list[PipelineRun]:
        result = await self._connection.execute(_FOR_FILE, {"file_id": file_id})
        return [_run(row) for row in result.mappings()]

    async def list_for_resource(self, resource_id: UUID) -> list[PipelineRun]:
        result = await self._connection.execute(_FOR_RESOURCE, {"resource_id": resource_id})
        return [_run(row) for row in result.mappings()]

    async def list_by_owner(self, owner_id: UUID) -> list[PipelineRun]:
        result = await self._connection.execute(_BY_OWNER, {"owner_id": owner_id})
        return [_run(row) for row in result.mappings()]

    async def changes_after(self, run_id: UUID, version: int) -> list[PipelineRun]:
        result = await self._connection.execute(
            _CHANGES_AFTER, {"run_id": run_id, "version": version}
        )
        return [_run_of_snapshot(snapshot) for snapshot in result.scalars()]

    async def delete_by_owner(self, owner_id: UUID) -> int:
        result = await self._connection.execute(_DELETE_BY_OWNER, {"owner_id": owner_id})
        return int(result.rowcount)

    async def _record_change(self, run: PipelineRun, row: dict[str, Any]) -> None:
        snapshot = {
            **row,
            "id": str(run.id),
            "owner_id": str(run.owner_id),
            "resource_id": str(run.resource_id),
            "file_id": str(run.file_id),
            "created_at": run.created_at.isoformat(),
            "updated_at": run.updated_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
        await self._connection.execute(
            insert(_changes),
            {
                "run_id": run.id,
                "version": run.version,
                "snapshot": json.dumps(snapshot),
                "created_at": run.updated_at,
            },
        )


def _step_row(step: PipelineStep) -> dict[str, Any]:
    return {
        "name": step.name.value,
        "status": step.status.value,
        "attempts": step.attempts,
        "started_at": step.started_at.isoformat() if step.started_at else None,
        "finished_at": step.finished_at.isoformat() if step.finished_at else None,
        "error": step.error,
        "fraction": step.fraction,
    }


def _step(data: dict[str, Any]) -> PipelineStep:
    return PipelineStep(
        name=StepName(data["name"]),
        status=StepStatus(data["status"]),
        attempts=int(data["attempts"]),
        started_at=datetime.fromisoformat(data["started_at"]) if data["started_at"] else None,
        finished_at=datetime.fromisoformat(data["finished_at"]) if data["finished_at"] else None,
        error=data["error"],
        fraction=float(data["fraction"]),
    )


def _run_row(run: PipelineRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "owner_id": run.owner_id,
        "resource_id": run.resource_id,
        "file_id": run.file_id,
        "media_type": run.media_type,
        "status": run.status.value,
        "steps": json.dumps([_step_row(step) for step in run.steps]),
        "progress": run.progress,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "finished_at": run.finished_at,
        "version": run.version,
    }


def _run(row: RowMapping | dict[str, Any]) -> PipelineRun:
    return PipelineRun(
        id=row["id"],
        owner_id=row["owner_id"],
        resource_id=row["resource_id"],
        file_id=row["file_id"],
        media_type=row["media_type"],
        status=RunStatus(row["status"]),
        steps=[_step(step) for step in json.loads(row["steps"])],
        progress=row["progress"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        version=row["version"],
    )


def _run_of_snapshot(snapshot: str) -> PipelineRun:
    data = json.loads(snapshot)
    return _run(
        {
            **data,
            "id": UUID(data["id"]),
            "owner_id": UUID(data["owner_id"]),
            "resource_id": UUID(data["resource_id"]),
            "file_id": UUID(data["file_id"]),
            "created_at": datetime.fromisoformat(data["created_at"]),
            "updated_at": datetime.fromisoformat(data["updated_at"]),
            "finished_at": (
                datetime.fromisoformat(data["finished_at"]) if data["finished_at"] else None
            ),
        }
    )
