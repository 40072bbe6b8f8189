from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal, cast
from uuid import UUID

from pydantic import BaseModel, Field, StrictStr

from app.domain.entities.session import Session
from app.presentation.api.v1.schemas.common import RequestBody


class MfaRequiredOut(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="valid for 5 minutes, only at /api/v1/auth/mfa/verify")


class RefreshIn(RequestBody):
    refresh_token: Annotated[StrictStr, Field(min_length=1, max_length=512)]


class SessionOut(BaseModel):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool = Field(description="true for the session of the token this list was asked with")

    @classmethod
    def of(cls, session: Session, *, current_session_id: UUID) -> SessionOut:
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            ip=session.ip,
            current=session.id == current_session_id,
        )


class SessionList(BaseModel):
    items: list[SessionOut]


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


# The session feature's part of the GDPR export (see features/session.py).
PERSONAL_DATA_SECTIONS = {"sessions": list[ExportedSession]}


def personal_data_of(sections: Mapping[str, object]) -> dict[str, object]:
    sessions = cast(list[Session], sections["sessions"])
    return {"sessions": [ExportedSession.of(session) for session in sessions]}
