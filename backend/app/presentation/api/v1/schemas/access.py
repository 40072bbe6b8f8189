from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from app.application.interfaces.access import (
    ACTIONS,
    ROLES,
    PolicyRule,
)
from app.presentation.api.openapi import enum_marker
from app.presentation.api.v1.schemas.common import RequestBody

Name = Annotated[StrictStr, Field(min_length=1, max_length=50)]
# The schema of each app lists its registered policy object types (`features/access.py`).
OBJECT_TYPES_ENUM = "access.object_types"


class PolicyRuleBody(RequestBody):
    role: Name = Field(examples=["user"], json_schema_extra={"enum": list(ROLES)})
    object_type: Name = Field(
        examples=["resource"],
        description="an object type, or `*`",
        json_schema_extra=enum_marker(OBJECT_TYPES_ENUM),
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
