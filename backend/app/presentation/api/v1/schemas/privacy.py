from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app.application.use_cases.privacy.export_my_data import PersonalData
from app.domain.entities.session import Session
from app.presentation.api.v1.schemas.access import AuditEventOut
from app.presentation.api.v1.schemas.payment import PaymentOut
from app.presentation.api.v1.schemas.resource import FileOut, ResourceOut
from app.presentation.api.v1.schemas.user import UserOut


class AccountErasure(BaseModel):
    # Not RequestBody: that trims strings, and a password is exactly what was typed.
    model_config = ConfigDict(extra="forbid")

    password: Annotated[StrictStr, Field(min_length=1, max_length=1024)]
    code: Annotated[StrictStr, Field(min_length=6, max_length=32)] | None = Field(
        default=None, description="a TOTP or recovery code; required when MFA is on"
    )


class ExportedSession(BaseModel):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None

    @classmethod
    def of(cls, session: Session) -> ExportedSession:
        return cls.model_validate(
            session.model_dump(exclude={"refresh_token_hash", "spent_token_hashes", "user_id"})
        )


class ExportedResource(ResourceOut):
    files: list[FileOut]


class PersonalDataExport(BaseModel):
    """Everything Strata stores about you. Secrets (password hash, TOTP seed, token hashes) are
    described, never exported: they are ours to verify you with, and useless to anyone else."""

    exported_at: datetime
    profile: UserOut
    sessions: list[ExportedSession]
    resources: list[ExportedResource]
    payments: list[PaymentOut]
    audit_events: list[AuditEventOut] = Field(
        description="events about you. Your own actions come whole; in any other (an "
        "administrator's change, a failed or refused attempt on your account) `ip` and "
        "`request_id` are null, `actor_id` is null unless it is you, and `target_id` is null "
        "where it would name another user: they are someone else's data"
    )

    @classmethod
    def of(cls, data: PersonalData) -> PersonalDataExport:
        return cls(
            exported_at=data.exported_at,
            profile=UserOut.of(data.user),
            sessions=[ExportedSession.of(session) for session in data.sessions],
            resources=[
                ExportedResource(
                    **ResourceOut.of(resource).model_dump(),
                    files=[FileOut.of(f) for f in data.files if f.resource_id == resource.id],
                )
                for resource in data.resources
            ],
            payments=[PaymentOut.of(payment) for payment in data.payments],
            audit_events=[AuditEventOut.of(event) for event in data.audit_events],
        )
