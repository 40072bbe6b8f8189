from __future__ import annotations

from dataclasses import dataclass

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork, TotpAuthenticator
from app.application.interfaces.security import SecretBox
from app.domain.entities.credentials import (
    MfaAlreadyEnabledError,
)
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError


@dataclass(frozen=True, slots=True)
class MfaSetup:
    """The new secret, and the otpauth:// URI an authenticator app scans to learn it."""

    secret: str
    otpauth_uri: str


class SetUpMfa:
    """A new TOTP secret, stored sealed; MFA stays off until a code from it is confirmed."""

    def __init__(
        self,
        uow: CredentialsUnitOfWork,
        totp: TotpAuthenticator,
        secret_box: SecretBox,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._totp = totp
        self._secret_box = secret_box
        self._clock = clock

    async def execute(self, user: User) -> MfaSetup:
        secret = self._totp.new_secret()
        async with self._uow as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise UserNotFoundError()
            if current.mfa_enabled:
                raise MfaAlreadyEnabledError()
            pending = current.changed(
                self._clock.now(),
                totp_secret_sealed=self._secret_box.seal(secret),
                totp_last_used_step=None,
            )
            if not await uow.users.update(pending, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            # No domain event: a pending secret changes nothing anyone acts on (MFA is still
            # off, and a new set-up replaces it); `SecondFactorEnabled` tells when it counts.
            await uow.commit()
        return MfaSetup(
            secret=secret, otpauth_uri=self._totp.provisioning_uri(secret, account=user.email)
        )
