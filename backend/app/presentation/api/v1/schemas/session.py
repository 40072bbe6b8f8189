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


class ExportedSession(BaseModel):
    """A session as the GDPR export shows it: everything but the secrets and whose it is."""

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


class SessionOut(ExportedSession):
    current: bool = Field(description="true for the session of the token this list was asked with")

    @classmethod
    def listed(cls, session: Session, *, current_session_id: UUID) -> SessionOut:
        return cls(
            **ExportedSession.of(session).model_dump(), current=session.id == current_session_id
        )


class SessionList(BaseModel):
    items: list[SessionOut]


# The session feature's part of the GDPR export (see features/session.py).
PERSONAL_DATA_SECTIONS = {"sessions": list[ExportedSession]}


def personal_data_of(sections: Mapping[str, object]) -> dict[str, object]:
    sessions = cast(list[Session], sections["sessions"])
    return {"sessions": [ExportedSession.of(session) for session in sessions]}
