from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from pydantic import BaseModel, Field, StrictStr

from app.domain.entities.resource import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    Resource,
    ResourceChanges,
    StoredFile,
)
from app.presentation.api.v1.schemas.common import (
    AsSent,
    MultiLine,
    NonBlankLine,
    PatchBody,
    RequestBody,
)

Name = Annotated[
    StrictStr,
    Field(min_length=1, max_length=NAME_MAX_LENGTH),
    NonBlankLine,
    AsSent(NAME_MAX_LENGTH),
]
Description = Annotated[
    StrictStr, Field(max_length=DESCRIPTION_MAX_LENGTH), MultiLine, AsSent(DESCRIPTION_MAX_LENGTH)
]


class ResourceCreate(RequestBody):
    name: Name
    description: Description = ""


class ResourceUpdate(PatchBody):
    name: Name | None = None
    description: Description | None = None

    def to_changes(self) -> ResourceChanges:
        return ResourceChanges(name=self.name, description=self.description)


class ResourceOut(BaseModel):
    id: UUID
    name: str
    description: str
    owner_id: UUID
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, resource: Resource) -> ResourceOut:
        return cls.model_validate(resource.model_dump())


class FileOut(BaseModel):
    id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime

    @classmethod
    def of(cls, stored: StoredFile) -> FileOut:
        return cls(
            id=stored.id,
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            created_at=stored.created_at,
        )


class FileList(BaseModel):
    items: list[FileOut]


class ExportedResource(ResourceOut):
    files: list[FileOut]


# The resource feature's part of the GDPR export (see features/resource.py).
PERSONAL_DATA_SECTIONS = {"resources": list[ExportedResource]}


def personal_data_of(sections: Mapping[str, object]) -> dict[str, object]:
    resources = cast(list[Resource], sections["resources"])
    files = cast(list[StoredFile], sections["files"])
    return {
        "resources": [
            ExportedResource(
                **ResourceOut.of(resource).model_dump(),
                files=[FileOut.of(f) for f in files if f.resource_id == resource.id],
            )
            for resource in resources
        ]
    }
