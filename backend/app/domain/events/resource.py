"""What happens to resources and their files, told to whoever listens. Ids, sizes and media
types only: a resource's name and a file's name may be personal, so they never travel."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceEvent(DomainEvent):
    resource_id: UUID
    owner_id: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.resource_id


class ResourceCreated(ResourceEvent): ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceUpdated(ResourceEvent):
    changed_fields: tuple[str, ...]  # sorted names of the fields whose value changed

    def __post_init__(self) -> None:
        # Read back from the outbox the names come as a JSON list.
        object.__setattr__(self, "changed_fields", tuple(sorted(self.changed_fields)))


class ResourceDeleted(ResourceEvent):
    """The resource and every file of it are gone (no FileDeleted is told for those files)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileEvent(DomainEvent):
    file_id: UUID
    resource_id: UUID
    owner_id: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.file_id


@dataclass(frozen=True, slots=True, kw_only=True)
class FileUploaded(FileEvent):
    content_type: str
    size: int


class FileDeleted(FileEvent): ...
