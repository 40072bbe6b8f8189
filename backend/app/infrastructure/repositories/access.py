"""The stored access policy: Casbin's `p` lines in `casbin_rule`, and the policy version counter.

Casbin's adapter reads the same table when an enforcer loads (`adapters/access_policy.py`); the
writes go through here so that a change, its version bump and its audit event share one
transaction.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import ColumnElement, Table, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.access import PolicyRule
from app.infrastructure.models.access import AccessPolicyVersionModel, CasbinRuleModel

POLICY_LINE = "p"
_rules = cast(Table, CasbinRuleModel.__table__)
_versions = cast(Table, AccessPolicyVersionModel.__table__)
_r = _rules.c
_SELECT = (
    select(_r.v0, _r.v1, _r.v2, _r.v3)
    .where(_r.ptype == POLICY_LINE)
    .order_by(_r.v0, _r.v1, _r.v2, _r.v3)
)
# An UPDATE takes the row's lock: a second change waits here until the first one has committed.
_CLAIM_CHANGE = update(_versions).where(_versions.c.id == 1).values(version=_versions.c.version + 1)


class SqlAlchemyPolicyRuleRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim_change(self) -> None:
        await self._connection.execute(_CLAIM_CHANGE)

    async def list_rules(self) -> list[PolicyRule]:
        result = await self._connection.execute(_SELECT)
        return sorted(PolicyRule(*row) for row in result)

    async def add(self, rule: PolicyRule) -> None:
        await self._connection.execute(
            insert(_rules).values(
                ptype=POLICY_LINE, v0=rule.role, v1=rule.object_type, v2=rule.action, v3=rule.scope
            )
        )

    async def remove(self, rule: PolicyRule) -> bool:
        result = await self._connection.execute(delete(_rules).where(_matches(rule)))
        return bool(result.rowcount)


def _matches(rule: PolicyRule) -> ColumnElement[bool]:
    return and_(
        _r.ptype == POLICY_LINE,
        _r.v0 == rule.role,
        _r.v1 == rule.object_type,
        _r.v2 == rule.action,
        _r.v3 == rule.scope,
    )
