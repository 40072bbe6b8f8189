from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from app.application.interfaces.access import (
    ACCESS_OBJECT_TYPES,
    ACTIONS,
    ANY,
    ROLES,
    PolicyRule,
)
from app.application.interfaces.audit import AUDIT_OBJECT_TYPES
from app.application.interfaces.payment import PAYMENT_OBJECT_TYPES
from app.application.interfaces.product import PRODUCT_OBJECT_TYPES
from app.application.interfaces.resource import RESOURCE_OBJECT_TYPES
from app.application.interfaces.user import USER_OBJECT_TYPES
from app.presentation.api.v1.schemas.common import RequestBody

Name = Annotated[StrictStr, Field(min_length=1, max_length=50)]
# What the schema documents; `ChangePolicy` checks a rule against the registered features' types.
DOCUMENTED_OBJECT_TYPES = (
    ANY,
    *RESOURCE_OBJECT_TYPES,
    *ACCESS_OBJECT_TYPES,
    *AUDIT_OBJECT_TYPES,
    *USER_OBJECT_TYPES,
    *PRODUCT_OBJECT_TYPES,
    *PAYMENT_OBJECT_TYPES,
)


class PolicyRuleBody(RequestBody):
    role: Name = Field(examples=["user"], json_schema_extra={"enum": list(ROLES)})
    object_type: Name = Field(
        examples=["resource"],
        description="an object type, or `*`",
        json_schema_extra={"enum": list(DOCUMENTED_OBJECT_TYPES)},
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
