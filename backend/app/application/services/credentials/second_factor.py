"""Checking a second factor: a TOTP code (each time step accepted once) or a recovery code
(each accepted once). Used by MFA login, and to confirm sensitive steps when MFA is on: there a
wrong password and a wrong code get the same answer."""

from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import SecondFactorUnitOfWork, TotpAuthenticator
from app.application.interfaces.security import SecretBox
from app.domain.entities.credentials import WrongPasswordError, WrongPasswordOrCodeError
from app.domain.entities.user import User
from app.domain.value_objects.recovery_code import hash_recovery_code, looks_like_recovery_code


class SecondFactor:
    def __init__(self, totp: TotpAuthenticator, secret_box: SecretBox, clock: Clock) -> None:
        self._totp = totp
        self._secret_box = secret_box
        self._clock = clock

    def matching_step(self, sealed_secret: str, code: str, *, after: int | None) -> int | None:
        """The TOTP step `code` belongs to, if it is valid now and later than `after`."""
        step = self._totp.matching_step(
            self._secret_box.open(sealed_secret), code, at=self._clock.now()
        )
        if step is None or (after is not None and step <= after):
            return None  # wrong, or a code already used (replayed)
        return step

    async def consume(
        self, uow: SecondFactorUnitOfWork, user: User, code: str | None
    ) -> User | None:
        """Spend `code` for `user` inside the open unit of work: the user as updated (a TOTP step
        recorded), or None if the code is wrong or already used. The caller commits."""
        if not code or not user.mfa_enabled or user.totp_secret_sealed is None:
            return None
        now = self._clock.now()
        if looks_like_recovery_code(code):
            if await uow.recovery_codes.use(user.id, hash_recovery_code(code), now):
                return user
            return None
        step = self.matching_step(user.totp_secret_sealed, code, after=user.totp_last_used_step)
        if step is None:
            return None
        updated = user.changed(now, totp_last_used_step=step)
        # Conditional on the version read: two requests racing with one code cannot both win.
        if not await uow.users.update(updated, expected_version=user.version):
            return None
        return updated

    async def confirm(
        self, uow: SecondFactorUnitOfWork, user: User, *, password_ok: bool, code: str | None
    ) -> User:
        """The caller's identity for a sensitive step, inside the open unit of work: `password_ok`
        is the outcome of the password check and, with MFA on, `code` is spent. Answers the user
        as updated; the caller commits.

        MFA off: a wrong password raises WrongPasswordError. MFA on: a wrong password or a wrong,
        missing or replayed code raise the same WrongPasswordOrCodeError, so a password guess
        cannot be confirmed without the code; no code is spent after a wrong password.
        """
        if not user.mfa_enabled:
            if not password_ok:
                raise WrongPasswordError()
            return user
        if not password_ok:
            raise WrongPasswordOrCodeError()
        confirmed = await self.consume(uow, user, code)
        if confirmed is None:
            raise WrongPasswordOrCodeError()
        return confirmed
