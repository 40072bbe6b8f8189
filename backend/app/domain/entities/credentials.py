"""Single-use tokens sent by e-mail: to verify an address, or to reset a password.

Like refresh tokens they are `<id>.<secret>`, and only the SHA-256 of the secret is stored. Each
works once and for 30 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from app.domain.errors import InvalidOneTimeTokenError
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
