"""A user of Strata: who they are, how they prove it, and what role they hold."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
)
from app.domain.validation import validated
from app.domain.value_objects.identifiers import new_id
from app.domain.value_objects.text import reject_control_characters, trim

FULL_NAME_MAX_LENGTH = 200


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    id: UUID
    email: str  # normalised (see value_objects.email)
    full_name: Annotated[str, Field(max_length=FULL_NAME_MAX_LENGTH)] | None = None
    role: Role = Role.USER
    is_active: bool = True
    password_hash: str
    email_verified: bool = False
    # TOTP: the secret is stored sealed (encrypted) by the SecretBox port, never in clear.
    mfa_enabled: bool = False
    totp_secret_sealed: str | None = None
    # The last 30-second TOTP step a code was accepted for: a code works once, never replayed.
    totp_last_used_step: int | None = None
    version: Annotated[int, Field(ge=1)] = 1
    created_at: datetime
    updated_at: datetime

    @field_validator("full_name")
    @classmethod
    def _single_line_text(cls, value: str | None) -> str | None:
        return None if value is None else reject_control_characters(value)

    @classmethod
    def register(
        cls,
        *,
        email: str,
        password_hash: str,
        full_name: str | None,
        now: datetime,
        role: Role = Role.USER,
    ) -> User:
        return validated(
            cls,
            {
                "id": new_id(),
                "email": email,
                "full_name": trim(full_name or "") or None,
                "role": role,
                "password_hash": password_hash,
                "created_at": now,
                "updated_at": now,
            },
        )

    def changed(self, now: datetime, **changes: object) -> User:
        """A copy with `changes` applied (validated), the version bumped and `updated_at` = now."""
        data = self.model_dump()
        data.update(changes)
        data["version"] = self.version + 1
        data["updated_at"] = now
        return validated(type(self), data)


# Errors of the user feature
class EmailAlreadyRegisteredError(ConflictError):
    code = "user.email_taken"


class UserNotFoundError(NotFoundError):
    code = "user.not_found"


class WeakPasswordError(InvalidValueError):
    code = "user.weak_password"


class AdminRequiredError(PermissionDeniedError):
    code = "auth.admin_required"


class OwnAccessChangeError(ConflictError):
    """An administrator may not demote or deactivate themselves (and lock everyone out)."""

    code = "user.own_access_change"


class UserChangedConcurrentlyError(ConflictError):
    code = "user.changed_concurrently"


class UserVersionMismatchError(PreconditionFailedError):
    """The caller names a version of the account other than the stored one."""

    code = "user.version_mismatch"
