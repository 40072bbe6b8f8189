"""An audit event: who did what to which object, with what outcome, from where. Append-only.

Never holds a secret, a token or a password: `details` carries only non-sensitive facts (a role
name, a policy rule), and callers build it from known keys, never from request bodies.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.domain.value_objects.identifiers import new_id


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    occurred_at: datetime
    actor_id: UUID | None  # None: anonymous, or an actor erased under GDPR
    action: Annotated[
        str, Field(min_length=1, max_length=100)
    ]  # e.g. "auth.login", "resource.delete"
    target_type: Annotated[str, Field(max_length=50)] | None = None
    target_id: Annotated[str, Field(max_length=100)] | None = None
    outcome: AuditOutcome = AuditOutcome.SUCCESS
    ip: Annotated[str, Field(max_length=45)] | None = None
    request_id: Annotated[str, Field(max_length=128)] | None = None
    details: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def record(
        cls,
        *,
        action: str,
        now: datetime,
        actor_id: UUID | None,
        target_type: str | None = None,
        target_id: object | None = None,
        outcome: AuditOutcome = AuditOutcome.SUCCESS,
        ip: str | None = None,
        request_id: str | None = None,
        details: dict[str, str] | None = None,
    ) -> AuditEvent:
        return cls(
            id=new_id(),
            occurred_at=now,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            outcome=outcome,
            ip=ip,
            request_id=request_id,
            details=details or {},
        )
