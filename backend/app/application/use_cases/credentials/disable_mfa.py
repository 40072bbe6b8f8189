from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.application.interfaces.events import EventRelay
from app.application.interfaces.security import PasswordHasher
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.use_cases.credentials.audit_events import account_event
from app.domain.entities.credentials import (
    MfaNotEnabledError,
)
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError
from app.domain.events.credentials import SecondFactorDisabled


class DisableMfa:
    """Turning MFA off takes the password and a current code (or a recovery code); either one
    wrong gets the same answer. MFA off records `SecondFactorDisabled`, handed out by `events`
    after the commit."""

    def __init__(
        self,
        uow: CredentialsUnitOfWork,
        hasher: PasswordHasher,
        second_factor: SecondFactor,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._second_factor = second_factor
        self._clock = clock
        self._events = events

    async def execute(
        self, user: User, *, password: str, code: str, context: RequestContext
    ) -> None:
        password_ok = await self._hasher.verify(password, user.password_hash)
        async with self._uow as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise UserNotFoundError()
            # MFA off: a wrong password is told as such (there is no code to protect), a right one
            # that MFA is not on.
            confirmed = await self._second_factor.confirm(
                uow, current, password_ok=password_ok, code=code
            )
            if not current.mfa_enabled:
                raise MfaNotEnabledError()
            now = self._clock.now()
            disabled = confirmed.changed(
                now,
                mfa_enabled=False,
                totp_secret_sealed=None,
                totp_last_used_step=None,
            )
            if not await uow.users.update(disabled, expected_version=confirmed.version):
                raise UserChangedConcurrentlyError()
            await uow.recovery_codes.delete_all(user.id)
            await uow.audit_events.add(account_event("mfa.disable", user.id, context, now))
            event = SecondFactorDisabled(occurred_at=now, user_id=user.id)
            await uow.outbox.add([event], now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([event])
