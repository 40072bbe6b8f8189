from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.application.interfaces.security import PasswordHasher
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.use_cases.credentials.audit_events import account_event
from app.domain.entities.credentials import (
    MfaNotEnabledError,
)
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError


class DisableMfa:
    """Turning MFA off takes the password and a current code (or a recovery code); either one
    wrong gets the same answer."""

    def __init__(
        self,
        uow: CredentialsUnitOfWork,
        hasher: PasswordHasher,
        second_factor: SecondFactor,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._second_factor = second_factor
        self._clock = clock

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
            disabled = confirmed.changed(
                self._clock.now(),
                mfa_enabled=False,
                totp_secret_sealed=None,
                totp_last_used_step=None,
            )
            if not await uow.users.update(disabled, expected_version=confirmed.version):
                raise UserChangedConcurrentlyError()
            await uow.recovery_codes.delete_all(user.id)
            await uow.audit_events.add(
                account_event("mfa.disable", user.id, context, self._clock.now())
            )
            await uow.commit()
