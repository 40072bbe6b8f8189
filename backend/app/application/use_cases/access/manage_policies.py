"""Administrators read and change the access policy (Casbin's rules, through the port)."""

from __future__ import annotations

from app.application.interfaces.access import (
    ACTIONS,
    OBJECT_TYPES,
    ROLES,
    SCOPES,
    AccessPolicy,
    PolicyRule,
)
from app.application.interfaces.clock import Clock
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import User
from app.domain.errors import (
    AdminRequiredError,
    InvalidValueError,
    PolicyLockoutError,
    PolicyRuleExistsError,
    PolicyRuleNotFoundError,
)

POLICY = "policy"


async def require_policy_access(policy: AccessPolicy, actor: User, action: str) -> None:
    if not await policy.allows(actor, action, POLICY):
        raise AdminRequiredError()


def validate_rule(rule: PolicyRule) -> PolicyRule:
    for field, value, allowed in (
        ("role", rule.role, ROLES),
        ("object_type", rule.object_type, OBJECT_TYPES),
        ("action", rule.action, ACTIONS),
        ("scope", rule.scope, SCOPES),
    ):
        if value not in allowed:
            raise InvalidValueError(field=field, reason=f"must be one of: {', '.join(allowed)}")
    return rule


def manages_policy(rule: PolicyRule) -> bool:
    """True if `rule` lets administrators change the policy."""
    return (
        rule.role == "admin"
        and rule.object_type in ("*", POLICY)
        and rule.action in ("*", "update")
        and rule.scope == "all"
    )


class ListPolicyRules:
    def __init__(self, policy: AccessPolicy) -> None:
        self._policy = policy

    async def execute(self, actor: User) -> list[PolicyRule]:
        await require_policy_access(self._policy, actor, "read")
        return await self._policy.list_rules()


class ChangePolicy:
    """Add or remove a rule; every change is audited. The last rule that lets administrators
    manage the policy cannot be removed (nobody could ever put it back)."""

    def __init__(self, policy: AccessPolicy, uow: UnitOfWork, clock: Clock) -> None:
        self._policy = policy
        self._uow = uow
        self._clock = clock

    async def add(self, actor: User, rule: PolicyRule, context: RequestContext) -> PolicyRule:
        await require_policy_access(self._policy, actor, "update")
        if not await self._policy.add_rule(validate_rule(rule)):
            raise PolicyRuleExistsError()
        await self._audit("policy.add", actor, rule, context)
        return rule

    async def remove(self, actor: User, rule: PolicyRule, context: RequestContext) -> None:
        await require_policy_access(self._policy, actor, "update")
        validate_rule(rule)
        rules = await self._policy.list_rules()
        if rule not in rules:
            raise PolicyRuleNotFoundError()
        if manages_policy(rule) and not any(manages_policy(r) for r in rules if r != rule):
            raise PolicyLockoutError()
        if not await self._policy.remove_rule(rule):
            raise PolicyRuleNotFoundError()  # removed by someone else meanwhile
        await self._audit("policy.remove", actor, rule, context)

    async def _audit(
        self, action: str, actor: User, rule: PolicyRule, context: RequestContext
    ) -> None:
        # Casbin's adapter commits the rule in its own transaction; the audit row follows it.
        async with self._uow as uow:
            await uow.audit_events.add(
                AuditEvent.record(
                    action=action,
                    now=self._clock.now(),
                    actor_id=actor.id,
                    target_type=POLICY,
                    ip=context.ip,
                    request_id=context.request_id,
                    details={
                        "role": rule.role,
                        "object_type": rule.object_type,
                        "action": rule.action,
                        "scope": rule.scope,
                    },
                )
            )
            await uow.commit()
