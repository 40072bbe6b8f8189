from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.application.interfaces.events import EventRelay
from app.application.interfaces.security import PasswordHasher
from app.application.request_context import RequestContext
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.services.session import SessionTokens
from app.application.use_cases.credentials.audit_events import account_event
from app.domain.entities.credentials import (
    InvalidOneTimeTokenError,
    TokenPurpose,
    parse_one_time_token,
)
from app.domain.entities.user import UserChangedConcurrentlyError
from app.domain.events import DomainEvent
from app.domain.events.credentials import EmailVerified, PasswordChanged


class ResetPassword:
    """Spends a reset token for a new password; every session of the account is revoked, and
    the e-mail address counts as verified. It records `PasswordChanged` ("reset"), and
    `EmailVerified` when the address was not verified yet, handed out by `events` after the
    commit."""

    def __init__(
        self,
        uow: CredentialsUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        sessions: SessionTokens,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._sessions = sessions
        self._clock = clock
        self._events = events

    async def execute(self, token: str, new_password: str, context: RequestContext) -> None:
        token_id, secret = parse_one_time_token(token)
        async with self._uow as uow:
            stored = await uow.one_time_tokens.get(token_id)
            now = self._clock.now()
            if stored is None or not stored.redeemable(secret, TokenPurpose.PASSWORD_RESET, now):
                raise InvalidOneTimeTokenError()
            user = await uow.users.get(stored.user_id)
            if user is None or not user.is_active:
                raise InvalidOneTimeTokenError()
        await self._policy.ensure_strong(
            new_password, email=user.email, full_name=user.full_name, field="new_password"
        )
        password_hash = await self._hasher.hash(new_password)
        async with self._uow as uow:
            now = self._clock.now()
            if not await uow.one_time_tokens.mark_used(token_id, now):
                raise InvalidOneTimeTokenError()  # spent by a twin request meanwhile
            current = await uow.users.get(user.id)
            if current is None:
                raise InvalidOneTimeTokenError()
            # The link reached this inbox: that proves the address as the verification link would.
            changed = current.changed(now, password_hash=password_hash, email_verified=True)
            if not await uow.users.update(changed, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            await self._sessions.revoke_all(uow, user.id, now=now)
            await uow.audit_events.add(account_event("password.reset", user.id, context, now))
            told: list[DomainEvent] = [
                PasswordChanged(occurred_at=now, user_id=user.id, via="reset")
            ]
            if not current.email_verified:
                told.append(EmailVerified(occurred_at=now, user_id=user.id))
            await uow.outbox.add(told, now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay(told)
