"""Single-use tokens sent by e-mail: to verify an address, or to reset a password.

Like refresh tokens they are `<id>.<secret>`, and only the SHA-256 of the secret is stored. Each
works once and for 30 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from app.domain.errors import (
    AuthenticationError,
    ConflictError,
    InvalidValueError,
    PermissionDeniedError,
)
from app.domain.value_objects.identifiers import new_id
from app.domain.value_objects.opaque_token import hash_secret, new_secret, secrets_match

ONE_TIME_TOKEN_LIFETIME = timedelta(minutes=30)


class TokenPurpose(StrEnum):
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a password


class OneTimeToken(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    user_id: UUID
    purpose: TokenPurpose
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls, *, user_id: UUID, purpose: TokenPurpose, now: datetime
    ) -> tuple[OneTimeToken, str]:
        secret = new_secret()
        token = cls(
            id=new_id(),
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_secret(secret),
            created_at=now,
            expires_at=now + ONE_TIME_TOKEN_LIFETIME,
        )
        return token, f"{token.id}.{secret}"

    def redeemable(self, secret: str, purpose: TokenPurpose, now: datetime) -> bool:
        return (
            self.purpose is purpose
            and self.used_at is None
            and now < self.expires_at
            and secrets_match(secret, self.token_hash)
        )


def parse_one_time_token(token: str) -> tuple[UUID, str]:
    token_id, separator, secret = token.strip().partition(".")
    if not separator or not secret or len(token) > 256:
        raise InvalidOneTimeTokenError()
    try:
        return UUID(token_id), secret
    except ValueError as exc:
        raise InvalidOneTimeTokenError() from exc


# Errors of the credentials feature (passwords, e-mail verification and reset, MFA)
class InvalidOneTimeTokenError(InvalidValueError):
    """An e-mail verification or password reset token that is unknown, used or expired."""

    code = "auth.invalid_one_time_token"

    def __init__(self) -> None:
        super().__init__(field="token", reason="is invalid, expired or already used")


class WrongPasswordError(PermissionDeniedError):
    """The caller is authenticated, but the password they confirmed a sensitive step with is not
    theirs: a refusal of the step, not of the caller (their token stays valid)."""

    code = "auth.wrong_password"


class InvalidMfaCodeError(AuthenticationError):
    """The second factor at login was wrong: no tokens."""

    code = "auth.invalid_mfa_code"


class WrongSecondFactorError(PermissionDeniedError):
    """A signed-in user confirmed a sensitive step with a wrong or missing TOTP/recovery code."""

    code = "auth.wrong_mfa_code"


class WrongPasswordOrCodeError(PermissionDeniedError):
    """With MFA on, a sensitive step's password or code is wrong: one answer for either, so a
    guess at the password cannot be confirmed without the second factor."""

    code = "auth.wrong_password_or_code"


class MfaAlreadyEnabledError(ConflictError):
    code = "mfa.already_enabled"


class MfaNotEnabledError(ConflictError):
    code = "mfa.not_enabled"


class MfaSetupMissingError(ConflictError):
    code = "mfa.setup_missing"
