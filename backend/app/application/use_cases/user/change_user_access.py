from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.session import SessionUnitOfWork
from app.application.interfaces.user import USER
from app.application.request_context import RequestContext
from app.application.services.session import SessionTokens
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import (
    AdminRequiredError,
    OwnAccessChangeError,
    Role,
    User,
    UserChangedConcurrentlyError,
    UserNotFoundError,
    UserVersionMismatchError,
)
from app.domain.events.user import UserAccessChanged


@dataclass(frozen=True, slots=True)
class AccessChange:
    """A new role, a new active flag, or both (None: left as it is)."""

    role: Role | None = None
    is_active: bool | None = None

    def applied_to(self, user: User) -> tuple[Role, bool]:
        """The role and active flag `user` has once this change is made."""
        role = self.role if self.role is not None else user.role
        is_active = self.is_active if self.is_active is not None else user.is_active
        return role, is_active


class ChangeUserAccess:
    """A caller the policy lets (by default, an administrator) changes a user's role or
    deactivates / reactivates the account.

    Either change revokes every session of that user: what they could do is decided at login,
    so they log in again under the new rules. Nobody changes their own access, so the last
    administrator cannot demote or deactivate themselves and lock everybody out. Given
    `expected_versions` (the versions the caller read), only if the stored account is one of them.
    A change records `UserAccessChanged`, handed out by `events` after the commit.
    """

    def __init__(
        self,
        uow: SessionUnitOfWork,
        policy: AccessPolicy,
        sessions: SessionTokens,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._sessions = sessions
        self._clock = clock
        self._events = events

    async def execute(
        self,
        actor: User,
        user_id: UUID,
        change: AccessChange,
        context: RequestContext,
        *,
        expected_versions: Collection[int] | None = None,
    ) -> User:
        # Asked with no owner, before the transaction (the policy may read the database): a
        # user's own account is self-service, never this.
        if not await self._policy.allows(actor, "update", USER):
            raise AdminRequiredError()
        async with self._uow as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise UserNotFoundError()
            if expected_versions is not None and user.version not in expected_versions:
                raise UserVersionMismatchError()
            role, is_active = change.applied_to(user)
            if (role, is_active) == (user.role, user.is_active):
                return user
            if user.id == actor.id:
                raise OwnAccessChangeError()
            now = self._clock.now()
            changed = user.changed(now, role=role, is_active=is_active)
            if not await uow.users.update(changed, expected_version=user.version):
                raise UserChangedConcurrentlyError()
            revoked = await self._sessions.revoke_all(uow, user.id, now=now)
            await uow.audit_events.add(_access_event(actor, changed, revoked, context, now))
            event = UserAccessChanged(
                occurred_at=now,
                user_id=changed.id,
                role=changed.role.value,
                active=changed.is_active,
                changed_by=actor.id,
            )
            await uow.outbox.add([event], now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([event])
        return changed


def _access_event(
    actor: User, changed: User, sessions_revoked: int, context: RequestContext, now: datetime
) -> AuditEvent:
    return AuditEvent.record(
        action="user.update",
        now=now,
        actor_id=actor.id,
        target_type="user",
        target_id=changed.id,
        ip=context.ip,
        request_id=context.request_id,
        details={
            "role": changed.role.value,
            "is_active": str(changed.is_active).lower(),
            "sessions_revoked": str(sessions_revoked),
        },
    )
