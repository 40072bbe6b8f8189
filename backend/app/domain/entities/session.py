"""A login session: one refresh-token family, from login until logout, revocation or expiry.

A refresh token is `<session id>.<secret>`; the session keeps only the SHA-256 of the current
secret. Refreshing replaces the secret, so each refresh token works once. The session also keeps the
hashes of its last `SPENT_SECRETS_KEPT` spent secrets: one of them presented again means a refresh
token was used twice, by its owner and by a thief, and nobody can tell which is which, so the whole
session is revoked (reuse detection, RFC 9700 §4.14). Any other secret is merely invalid and changes
nothing: the session id is readable in every access token, so knowing it must not let anyone revoke
the session. A secret spent longer ago than the history reaches is invalid too (it no longer works,
it just no longer revokes).

A revoked session is deleted at once, an expired one at its user's next login or by the periodic
sweep (application/use_cases/auth/session_tokens.py), with the user agent and address it kept:
they are stored only as long as the session lives.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from secrets import compare_digest
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.domain.errors import AuthenticationError, NotFoundError
from app.domain.value_objects.identifiers import new_id
from app.domain.value_objects.opaque_token import hash_secret, new_secret, secrets_match
from app.domain.value_objects.text import without_control_characters

USER_AGENT_MAX_LENGTH = 255
# Spent secrets remembered per session (newest first). At the default 15-minute access tokens a
# client refreshing non-stop spends 32 in 8 hours; each costs 65 bytes of the session row.
SPENT_SECRETS_KEPT = 32
_SEPARATOR = "."


class Session(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    user_id: UUID
    refresh_token_hash: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: Annotated[str, Field(max_length=USER_AGENT_MAX_LENGTH)] | None = None
    ip: Annotated[str, Field(max_length=45)] | None = None
    # SHA-256 hashes of the secrets this session has spent, newest first, at most SPENT_SECRETS_KEPT.
    spent_token_hashes: tuple[str, ...] = ()

    @classmethod
    def start(
        cls,
        *,
        user_id: UUID,
        now: datetime,
        lifetime: timedelta,
        user_agent: str | None,
        ip: str | None,
    ) -> tuple[Session, str]:
        """A new session and its first refresh token (the only time the token exists in clear)."""
        secret = new_secret()
        session = cls(
            id=new_id(),
            user_id=user_id,
            refresh_token_hash=hash_secret(secret),
            created_at=now,
            last_used_at=now,
            expires_at=now + lifetime,
            user_agent=_kept_user_agent(user_agent),
            ip=ip,
        )
        return session, session.refresh_token(secret)

    def refresh_token(self, secret: str) -> str:
        return f"{self.id}{_SEPARATOR}{secret}"

    def is_active(self, now: datetime) -> bool:
        return now < self.expires_at

    def holds(self, secret: str) -> bool:
        """True if `secret` is this session's current (unspent) refresh secret."""
        return secrets_match(secret, self.refresh_token_hash)

    def spent(self, secret: str) -> bool:
        """True if `secret` was this session's refresh secret before a rotation spent it (reuse).

        Compared with every remembered hash in constant time, without stopping at a match.
        """
        presented = hash_secret(secret)
        matched = False
        for spent_hash in self.spent_token_hashes:
            matched |= compare_digest(presented, spent_hash)
        return matched

    def rotated(
        self, *, now: datetime, lifetime: timedelta, user_agent: str | None, ip: str | None
    ) -> tuple[Session, str]:
        """This session with a new refresh secret (the old one is spent) and the new token."""
        secret = new_secret()
        session = self.model_copy(
            update={
                "refresh_token_hash": hash_secret(secret),
                "spent_token_hashes": (
                    self.refresh_token_hash,
                    *self.spent_token_hashes[: SPENT_SECRETS_KEPT - 1],
                ),
                "last_used_at": now,
                "expires_at": now + lifetime,
                "user_agent": _kept_user_agent(user_agent) or self.user_agent,
                "ip": ip or self.ip,
            }
        )
        return session, session.refresh_token(secret)


def parse_refresh_token(token: str) -> tuple[UUID, str]:
    """(session id, secret) of a refresh token; InvalidRefreshTokenError for anything else."""
    session_part, separator, secret = token.partition(_SEPARATOR)
    if not separator or not secret or len(token) > 256:
        raise InvalidRefreshTokenError()
    try:
        return UUID(session_part), secret
    except ValueError as exc:
        raise InvalidRefreshTokenError() from exc


def _kept_user_agent(user_agent: str | None) -> str | None:
    """What is stored of the client's user agent: no control character (the one text rule, see
    value_objects/text.py), at most USER_AGENT_MAX_LENGTH characters, None if nothing is left."""
    kept = without_control_characters(user_agent or "")[:USER_AGENT_MAX_LENGTH]
    return kept or None


# Errors of the session feature
class InvalidCredentialsError(AuthenticationError):
    code = "auth.invalid_credentials"


class InvalidTokenError(AuthenticationError):
    """An access token that is malformed, forged, expired or revoked."""

    code = "auth.invalid_token"


class InvalidRefreshTokenError(AuthenticationError):
    """Unknown, spent, expired or revoked: one answer, so a probe learns nothing."""

    code = "auth.invalid_refresh_token"


class SessionNotFoundError(NotFoundError):
    code = "session.not_found"
