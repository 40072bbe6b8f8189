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

USER_TARGET = "user"  # the target type of events about an account


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

    def as_seen_by(self, user_id: UUID) -> AuditEvent:
        """This event in `user_id`'s own data export (GDPR art. 15): theirs, not other people's.

        What they did keeps its address and request. Anything else about them keeps what
        happened and when, without anyone else's data: not the id, address or request of an
        administrator who acted on them, nor of whoever failed to log in as them or replayed
        their refresh token (a failure or denial is not proven to be theirs), nor the id of
        another user they acted on. `details` stays: it holds only non-sensitive facts.
        """
        own = self.actor_id == user_id and self.outcome is AuditOutcome.SUCCESS
        someone_else_targeted = self.target_type == USER_TARGET and self.target_id != str(user_id)
        return self.model_copy(
            update={
                "actor_id": self.actor_id if self.actor_id == user_id else None,
                "ip": self.ip if own else None,
                "request_id": self.request_id if own else None,
                "target_id": None if someone_else_targeted else self.target_id,
            }
        )
