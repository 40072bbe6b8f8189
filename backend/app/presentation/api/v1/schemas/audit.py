from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from pydantic import BaseModel, Field

from app.domain.entities.audit import AuditEvent


class AuditEventOut(BaseModel):
    id: UUID
    occurred_at: datetime
    actor_id: UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    ip: str | None
    request_id: str | None
    details: dict[str, str]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls.model_validate(event.model_dump())


# The audit feature's part of the GDPR export (see features/audit.py).
PERSONAL_DATA_SECTIONS = {
    "audit_events": Annotated[
        list[AuditEventOut],
        Field(
            description="events about you. Your own actions come whole; in any other (an "
            "administrator's change, a failed or refused attempt on your account) `ip` and "
            "`request_id` are null, `actor_id` is null unless it is you, and `target_id` is null "
            "where it would name another user: they are someone else's data"
        ),
    ]
}


def personal_data_of(sections: Mapping[str, object]) -> dict[str, object]:
    events = cast(list[AuditEvent], sections["audit_events"])
    return {"audit_events": [AuditEventOut.of(event) for event in events]}
