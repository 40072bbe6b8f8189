from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from app.domain.entities.user import FULL_NAME_MAX_LENGTH, Role, User
from app.domain.value_objects.email import EMAIL_MAX_LENGTH
from app.presentation.api.v1.schemas.common import AsSent, NewPassword, OneLine, PatchBody

FullName = Annotated[
    StrictStr, Field(max_length=FULL_NAME_MAX_LENGTH), OneLine, AsSent(FULL_NAME_MAX_LENGTH)
]
Email = Annotated[
    StrictStr,
    Field(
        min_length=3,
        max_length=EMAIL_MAX_LENGTH,
        json_schema_extra={"format": "email"},
        description="Trimmed; compared without regard to case.",
    ),
]


class UserRegister(BaseModel):
    # Not RequestBody: that trims strings, and a password is exactly what was typed.
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: NewPassword
    full_name: FullName | None = None


class UserOut(BaseModel):
    id: UUID
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    email_verified: bool
    mfa_enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(
            user.model_dump(exclude={"password_hash", "totp_secret_sealed", "totp_last_used_step"})
        )


class ProfileUpdate(PatchBody):
    full_name: FullName | None = None


class UserAccessUpdate(PatchBody):
    role: Role | None = None
    is_active: StrictBool | None = None


# The user's part of the GDPR export (see features/user.py).
PERSONAL_DATA_SECTIONS = {"profile": UserOut}


def personal_data_of(sections: Mapping[str, object]) -> dict[str, object]:
    return {"profile": UserOut.of(cast(User, sections["profile"]))}
