from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.resource import Resource, StoredFile
from app.infrastructure.models.resource import ResourceFileModel, ResourceModel

_resources = cast(Table, ResourceModel.__table__)
_files = cast(Table, ResourceFileModel.__table__)
_r = _resources.c
_f = _files.c
# Built once: see the product repository.
_INSERT = insert(_resources)
_SELECT = select(_resources).where(_r.id == bindparam("resource_id"))
_REPLACE = (
    update(_resources)
    .where(_r.id == bindparam("resource_id"), _r.version == bindparam("expected_version"))
    .values(
        name=bindparam("new_name"),
        description=bindparam("new_description"),
        version=bindparam("new_version"),
        updated_at=bindparam("new_updated_at"),
    )
)
_DELETE_FILES_OF = delete(_files).where(_f.resource_id == bindparam("resource_id"))
_DELETE = delete(_resources).where(_r.id == bindparam("resource_id"))
_PAGE = {
    (owned, after): (
        select(_resources)
        .where(*([_r.owner_id == bindparam("owner_id")] if owned else []))
        .where(*([_r.id > bindparam("after")] if after else []))
        .order_by(_r.id)
        .limit(bindparam("limit"))
    )
    for owned in (False, True)
    for after in (False, True)
}
_BY_OWNER = select(_resources).where(_r.owner_id == bindparam("owner_id")).order_by(_r.id)
_DELETE_FILES_BY_OWNER = delete(_files).where(_f.owner_id == bindparam("owner_id"))
_DELETE_BY_OWNER = delete(_resources).where(_r.owner_id == bindparam("owner_id"))
_INSERT_FILE = insert(_files)
_SELECT_FILE = select(_files).where(
    _f.id == bindparam("file_id"), _f.resource_id == bindparam("resource_id")
)
_FILES_OF = select(_files).where(_f.resource_id == bindparam("resource_id")).order_by(_f.id)
_FILES_BY_OWNER = select(_files).where(_f.owner_id == bindparam("owner_id")).order_by(_f.id)
_DELETE_FILE = delete(_files).where(_f.id == bindparam("file_id"))


class SqlAlchemyResourceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, resource: Resource) -> None:
        await self._connection.execute(_INSERT, resource.model_dump())

    async def get(self, resource_id: UUID) -> Resource | None:
        row = (
            (await self._connection.execute(_SELECT, {"resource_id": resource_id}))
            .mappings()
            .first()
        )
        return _resource(row) if row is not None else None

    async def replace(self, resource: Resource, *, expected_version: int) -> bool:
        result = await self._connection.execute(
            _REPLACE,
            {
                "resource_id": resource.id,
                "expected_version": expected_version,
                "new_name": resource.name,
                "new_description": resource.description,
                "new_version": resource.version,
                "new_updated_at": resource.updated_at,
            },
        )
        return result.rowcount == 1

    async def delete(self, resource_id: UUID) -> bool:
        # Files first: SQLite enforces the cascade too, but this does not depend on it.
        await self._connection.execute(_DELETE_FILES_OF, {"resource_id": resource_id})
        result = await self._connection.execute(_DELETE, {"resource_id": resource_id})
        return result.rowcount == 1

    async def list_page(
        self, *, owner_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Resource]:
        statement = _PAGE[(owner_id is not None, after is not None)]
        result = await self._connection.execute(
            statement, {"owner_id": owner_id, "after": after, "limit": limit}
        )
        return [_resource(row) for row in result.mappings()]

    async def list_by_owner(self, owner_id: UUID) -> list[Resource]:
        result = await self._connection.execute(_BY_OWNER, {"owner_id": owner_id})
        return [_resource(row) for row in result.mappings()]

    async def delete_by_owner(self, owner_id: UUID) -> int:
        await self._connection.execute(_DELETE_FILES_BY_OWNER, {"owner_id": owner_id})
        result = await self._connection.execute(_DELETE_BY_OWNER, {"owner_id": owner_id})
        return int(result.rowcount)


class SqlAlchemyResourceFileRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, stored_file: StoredFile) -> None:
        await self._connection.execute(_INSERT_FILE, stored_file.model_dump())

    async def get(self, resource_id: UUID, file_id: UUID) -> StoredFile | None:
        result = await self._connection.execute(
            _SELECT_FILE, {"resource_id": resource_id, "file_id": file_id}
        )
        row = result.mappings().first()
        return _file(row) if row is not None else None

    async def list_for_resource(self, resource_id: UUID) -> list[StoredFile]:
        result = await self._connection.execute(_FILES_OF, {"resource_id": resource_id})
        return [_file(row) for row in result.mappings()]

    async def list_by_owner(self, owner_id: UUID) -> list[StoredFile]:
        result = await self._connection.execute(_FILES_BY_OWNER, {"owner_id": owner_id})
        return [_file(row) for row in result.mappings()]

    async def delete(self, file_id: UUID) -> bool:
        result = await self._connection.execute(_DELETE_FILE, {"file_id": file_id})
        return result.rowcount == 1


def _resource(row: RowMapping) -> Resource:
    return Resource.model_construct(**{name: row[name] for name in Resource.model_fields})


def _file(row: RowMapping) -> StoredFile:
    values: dict[str, Any] = {name: row[name] for name in StoredFile.model_fields}
    values["wrapped_key"] = bytes(values["wrapped_key"])
    return StoredFile.model_construct(**values)
