from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from app.application.interfaces.access import (
    ACTIONS,
    ANY,
    POLICY,
    ROLES,
    SCOPES,
    AccessPolicy,
    AccessUnitOfWork,
    PolicyLockoutError,
    PolicyRule,
    PolicyRuleExistsError,
    PolicyRuleNotFoundError,
)
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.request_context import RequestContext
from app.application.use_cases.access.policy_access import require_policy_access
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import User
from app.domain.errors import InvalidValueError
from app.domain.events.access import AccessPolicyChanged


def validate_rule(rule: PolicyRule, object_types: Sequence[str]) -> PolicyRule:
    """`rule`, if it names a known role, action and scope, and one of `object_types` (or any)."""
    for field, value, allowed in (
        ("role", rule.role, ROLES),
        ("object_type", rule.object_type, (ANY, *object_types)),
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
        and rule.object_type in (ANY, POLICY)
        and rule.action in (ANY, "update")
        and rule.scope == "all"
    )


class ChangePolicy:
    """Add or remove a rule. The change, the version bump that makes every process reload, and
    its audit event are one transaction. The last rule that lets administrators manage the
    policy cannot be removed (nobody could ever put it back). A rule names one of
    `object_types`, those the registered features ask the policy about, or any. Each change
    records `AccessPolicyChanged` in that transaction too, handed out by `events` after it."""

    def __init__(
        self,
        policy: AccessPolicy,
        uow: AccessUnitOfWork,
        clock: Clock,
        *,
        object_types: Sequence[str],
        events: EventRelay | None = None,
    ) -> None:
        self._policy = policy
        self._uow = uow
        self._clock = clock
        self._object_types = tuple(object_types)
        self._events = events

    async def add(self, actor: User, rule: PolicyRule, context: RequestContext) -> PolicyRule:
        await require_policy_access(self._policy, actor, "update")
        validate_rule(rule, self._object_types)
        async with self._uow as uow:
            await uow.policy_rules.claim_change()  # concurrent changes queue from here
            if rule in await uow.policy_rules.list_rules():
                raise PolicyRuleExistsError()
            await uow.policy_rules.add(rule)
            await self._audit(uow, "policy.add", actor, rule, context)
            changed = await self._record(uow, "added", rule)
            await uow.commit()
        await self._policy.refresh()
        await self._relay(changed)
        return rule

    async def remove(self, actor: User, rule: PolicyRule, context: RequestContext) -> None:
        await require_policy_access(self._policy, actor, "update")
        validate_rule(rule, self._object_types)
        async with self._uow as uow:
            await uow.policy_rules.claim_change()
            rules = await uow.policy_rules.list_rules()
            if rule not in rules:
                raise PolicyRuleNotFoundError()
            if manages_policy(rule) and not any(manages_policy(r) for r in rules if r != rule):
                raise PolicyLockoutError()
            await uow.policy_rules.remove(rule)
            await self._audit(uow, "policy.remove", actor, rule, context)
            changed = await self._record(uow, "removed", rule)
            await uow.commit()
        await self._policy.refresh()
        await self._relay(changed)

    async def _record(
        self, uow: AccessUnitOfWork, change: Literal["added", "removed"], rule: PolicyRule
    ) -> AccessPolicyChanged:
        now = self._clock.now()
        changed = AccessPolicyChanged(
            occurred_at=now,
            change=change,
            role=rule.role,
            object_type=rule.object_type,
            action=rule.action,
            scope=rule.scope,
        )
        await uow.outbox.add([changed], now)
        return changed

    async def _relay(self, changed: AccessPolicyChanged) -> None:
        if self._events is not None:
            await self._events.relay([changed])

    async def _audit(
        self,
        uow: AccessUnitOfWork,
        action: str,
        actor: User,
        rule: PolicyRule,
        context: RequestContext,
    ) -> None:
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
