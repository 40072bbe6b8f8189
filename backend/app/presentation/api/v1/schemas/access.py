from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictStr

from app.application.interfaces.access import ACTIONS, OBJECT_TYPES, ROLES, PolicyRule
from app.domain.entities.audit import AuditEvent
from app.presentation.api.v1.schemas.common import RequestBody

Name = Annotated[StrictStr, Field(min_length=1, max_length=50)]


class PolicyRuleBody(RequestBody):
    role: Name = Field(examples=["user"], json_schema_extra={"enum": list(ROLES)})
    object_type: Name = Field(
        examples=["resource"],
        description="an object type, or `*`",
        json_schema_extra={"enum": list(OBJECT_TYPES)},
    )
    action: Name = Field(
        examples=["read"],
        description="create, read, update, delete, or `*`",
        json_schema_extra={"enum": list(ACTIONS)},
    )
    scope: Literal["all", "own"] = Field(
        examples=["own"], description="`own`: only objects the user owns"
    )

    def to_rule(self) -> PolicyRule:
        return PolicyRule(self.role, self.object_type, self.action, self.scope)


class PolicyRuleOut(BaseModel):
    role: str
    object_type: str
    action: str
    scope: str

    @classmethod
    def of(cls, rule: PolicyRule) -> PolicyRuleOut:
        return cls(
            role=rule.role, object_type=rule.object_type, action=rule.action, scope=rule.scope
        )


class PolicyRuleList(BaseModel):
    items: list[PolicyRuleOut]


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
