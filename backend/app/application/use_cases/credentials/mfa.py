"""TOTP multi-factor authentication: set up, enable (with recovery codes), disable, and the
second step of a login."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.application.interfaces.attempts import CredentialAttempts
from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import TotpAuthenticator
from app.application.interfaces.security import MfaTokenService, PasswordHasher, SecretBox
from app.application.interfaces.session import TokenDenyList
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.session import SessionTokens, TokenPair
from app.domain.entities.audit import AuditEvent, AuditOutcome
from app.domain.entities.credentials import (
    InvalidMfaCodeError,
    MfaAlreadyEnabledError,
    MfaNotEnabledError,
    MfaSetupMissingError,
    WrongSecondFactorError,
)
from app.domain.entities.session import InvalidTokenError
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError
from app.domain.value_objects.recovery_code import hash_recovery_code, new_recovery_codes


@dataclass(frozen=True, slots=True)
class MfaSetup:
    secret: str
    otpauth_uri: str


def _audit(
    action: str,
    user_id: UUID,
    context: RequestContext,
    clock: Clock,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: dict[str, str] | None = None,
) -> AuditEvent:
    return AuditEvent.record(
        action=action,
        now=clock.now(),
        actor_id=user_id,
        target_type="user",
        target_id=user_id,
        outcome=outcome,
        ip=context.ip,
        request_id=context.request_id,
        details=details,
    )


class SetUpMfa:
    """A new TOTP secret, stored sealed; MFA stays off until a code from it is confirmed."""

    def __init__(
        self, uow: UnitOfWork, totp: TotpAuthenticator, secret_box: SecretBox, clock: Clock
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
            await uow.commit()
        return MfaSetup(
            secret=secret, otpauth_uri=self._totp.provisioning_uri(secret, account=user.email)
        )


class EnableMfa:
    """Confirms the set-up secret with a code; answers the 10 recovery codes, shown only now."""

    def __init__(self, uow: UnitOfWork, second_factor: SecondFactor, clock: Clock) -> None:
        self._uow = uow
        self._second_factor = second_factor
        self._clock = clock

    async def execute(self, user: User, code: str, context: RequestContext) -> list[str]:
        async with self._uow as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise UserNotFoundError()
            if current.mfa_enabled:
                raise MfaAlreadyEnabledError()
            if current.totp_secret_sealed is None:
                raise MfaSetupMissingError()
            step = self._second_factor.matching_step(
                current.totp_secret_sealed, code, after=current.totp_last_used_step
            )
            if step is None:
                raise WrongSecondFactorError()
            enabled = current.changed(self._clock.now(), mfa_enabled=True, totp_last_used_step=step)
            if not await uow.users.update(enabled, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            codes = new_recovery_codes()
            await uow.recovery_codes.replace_all(user.id, [hash_recovery_code(c) for c in codes])
            await uow.audit_events.add(_audit("mfa.enable", user.id, context, self._clock))
            await uow.commit()
        return codes


class DisableMfa:
    """Turning MFA off takes the password and a current code (or a recovery code); either one
    wrong gets the same answer."""

    def __init__(
        self, uow: UnitOfWork, hasher: PasswordHasher, second_factor: SecondFactor, clock: Clock
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
            # MFA off: a wrong password is told as such (there is no code to protect), else 409.
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
            await uow.audit_events.add(_audit("mfa.disable", user.id, context, self._clock))
            await uow.commit()


class CompleteMfaLogin:
    """The second step of a login: the `mfa_token` from the first, and a TOTP or recovery code.

    A success spends the `mfa_token` (it is denied until it expires): one password check opens
    one session. Failures leave it usable, within the account's budgets: each code tried counts
    per user (never per token, whose spelling and number the client controls) and against the
    account's shared password/code budget.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        mfa_tokens: MfaTokenService,
        spent_tokens: TokenDenyList,
        second_factor: SecondFactor,
        sessions: SessionTokens,
        clock: Clock,
        attempts: CredentialAttempts,
    ) -> None:
        self._uow = uow
        self._mfa_tokens = mfa_tokens
        self._spent_tokens = spent_tokens
        self._second_factor = second_factor
        self._sessions = sessions
        self._clock = clock
        self._attempts = attempts

    async def execute(self, mfa_token: str, code: str, context: RequestContext) -> TokenPair:
        claims = self._mfa_tokens.verify_mfa(mfa_token)
        if await self._spent_tokens.is_denied(claims.token_id):
            raise InvalidTokenError()
        await self._attempts.mfa_login_code(claims.subject)
        async with self._uow as uow:
            user = await uow.users.get(claims.subject)
            if user is None or not user.is_active or not user.mfa_enabled:
                raise InvalidMfaCodeError()
            await self._attempts.password_or_code(user.email)
            confirmed = await self._second_factor.consume(uow, user, code)
            if confirmed is not None:
                pair = await self._sessions.start(uow, confirmed, context)
                # Spent before the commit: if the deny-list cannot be reached, no session exists.
                await self._spent_tokens.deny(claims.token_id, until=claims.expires_at)
                await uow.commit()
                return pair
        async with self._uow as uow:
            # A login that failed at its second step (the success is `auth.login` too).
            await uow.audit_events.add(
                _audit(
                    "auth.login",
                    user.id,
                    context,
                    self._clock,
                    AuditOutcome.FAILURE,
                    details={"step": "mfa"},
                )
            )
            await uow.commit()
        raise InvalidMfaCodeError()
