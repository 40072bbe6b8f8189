from __future__ import annotations

from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.application.interfaces.events import EventRelay
from app.application.interfaces.security import PasswordHasher
from app.application.request_context import RequestContext
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.session import SessionTokens
from app.application.use_cases.credentials.audit_events import account_event
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError
from app.domain.events.credentials import PasswordChanged


class ChangePassword:
    """The signed-in user changes their password (current password, and a code if MFA is on;
    with MFA on either one wrong gets the same answer). Every other session is revoked; the one
    making the change stays signed in. The change records `PasswordChanged` ("change"), handed
    out by `events` after the commit."""

    def __init__(
        self,
        uow: CredentialsUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        second_factor: SecondFactor,
        sessions: SessionTokens,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._second_factor = second_factor
        self._sessions = sessions
        self._clock = clock
        self._events = events

    async def execute(
        self,
        user: User,
        *,
        current_password: str,
        new_password: str,
        code: str | None,
        current_session_id: UUID,
        context: RequestContext,
    ) -> None:
        # The new password's strength is judged first and the new hash is made whatever the
        # current password: neither the answer (a weak password or a refusal) nor its timing may
        # tell a right password from a wrong one while the code is still owed.
        await self._policy.ensure_strong(
            new_password, email=user.email, full_name=user.full_name, field="new_password"
        )
        password_ok = await self._hasher.verify(current_password, user.password_hash)
        password_hash = await self._hasher.hash(new_password)
        async with self._uow as uow:
            found = await uow.users.get(user.id)
            if found is None:
                raise UserNotFoundError()
            current = await self._second_factor.confirm(
                uow, found, password_ok=password_ok, code=code
            )
            now = self._clock.now()
            changed = current.changed(now, password_hash=password_hash)
            if not await uow.users.update(changed, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            await self._sessions.revoke_all(
                uow, user.id, now=now, keep_session_id=current_session_id
            )
            await uow.audit_events.add(account_event("password.change", user.id, context, now))
            changed_event = PasswordChanged(occurred_at=now, user_id=user.id, via="change")
            await uow.outbox.add([changed_event], now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([changed_event])
