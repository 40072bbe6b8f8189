"""A resource a user owns, and the files attached to it (stored encrypted; see FileStorage)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.errors import InvalidValueError, NotFoundError, PreconditionFailedError
from app.domain.validation import validated
from app.domain.value_objects.identifiers import new_id
from app.domain.value_objects.text import reject_control_characters

NAME_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 5_000
FILENAME_MAX_LENGTH = 255
FALLBACK_FILENAME = "file"
# What a file is called when no signature matches and it is UTF-8 without NUL bytes, throughout.
TEXT_PLAIN = "text/plain"


class Resource(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    id: UUID
    owner_id: UUID
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH)] = ""
    version: Annotated[int, Field(ge=1)] = 1
    created_at: datetime
    updated_at: datetime

    @field_validator("name")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return reject_control_characters(value)

    @field_validator("description")
    @classmethod
    def _multi_line(cls, value: str) -> str:
        return reject_control_characters(value, allow_layout=True)

    @classmethod
    def create(cls, *, owner_id: UUID, name: str, description: str, now: datetime) -> Self:
        return validated(
            cls,
            {
                "id": new_id(),
                "owner_id": owner_id,
                "name": name,
                "description": description,
                "created_at": now,
                "updated_at": now,
            },
        )

    def apply(self, changes: ResourceChanges, *, now: datetime) -> Self:
        return validated(
            type(self),
            {
                **self.model_dump(),
                **changes.as_fields(),
                "version": self.version + 1,
                "updated_at": now,
            },
        )


@dataclass(frozen=True, slots=True)
class ResourceChanges:
    """A partial update: a field left as None is not changed."""

    name: str | None = None
    description: str | None = None

    def as_fields(self) -> dict[str, str]:
        return {
            key: value
            for key, value in (("name", self.name), ("description", self.description))
            if value is not None
        }


class StoredFile(BaseModel):
    """A file's metadata. Its bytes live encrypted in the file storage under `storage_key`, with
    their own data key, which is kept here only wrapped by a master key (`key_id`)."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    resource_id: UUID
    owner_id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str  # of the plaintext
    key_id: str
    wrapped_key: bytes
    storage_key: str
    created_at: datetime


def sanitize_filename(raw: str | None) -> str:
    """A name safe to store and to send back in Content-Disposition: the last path part only,
    NFC-normalised, without control characters or quotes, at most 255 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        char for char in name if unicodedata.category(char)[0] != "C" and char not in '"<>|:*?'
    )
    name = name.strip().lstrip(".").strip()
    if len(name) > FILENAME_MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: FILENAME_MAX_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:FILENAME_MAX_LENGTH]
    return name or FALLBACK_FILENAME


# Errors of the resource feature
class ResourceNotFoundError(NotFoundError):
    code = "resource.not_found"


class ResourceVersionMismatchError(PreconditionFailedError):
    code = "resource.version_mismatch"


class FileNotFoundInResourceError(NotFoundError):
    code = "file.not_found"


class MissingFileError(InvalidValueError):
    code = "file.missing"
