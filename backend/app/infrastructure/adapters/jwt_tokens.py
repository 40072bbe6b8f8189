"""Access tokens and MFA tokens as JWTs (PyJWT, HS256).

Each kind carries a `type` claim and is verified only as that kind: an MFA token (or anything else)
presented as an access token is refused, and the other way round. Refresh tokens are not JWTs at
all (see domain/entities/session.py), so they can never pass as either.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from app.application.interfaces.clock import Clock
from app.application.interfaces.security import AccessToken, AccessTokenClaims, MfaTokenClaims
from app.domain.errors import InvalidTokenError

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
MFA_TOKEN_TYPE = "mfa"  # noqa: S105 - a claim value, not a secret
MFA_TOKEN_TTL_SECONDS = 300
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "nbf", "jti", "type"]


class JwtTokenService:
    """`AccessTokenService` and `MfaTokenService` ports."""

    def __init__(self, *, signing_key: str, ttl_seconds: int, clock: Clock) -> None:
        self._key = signing_key
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, user_id: UUID, session_id: UUID) -> AccessToken:
        token = self._encode(user_id, ACCESS_TOKEN_TYPE, self._ttl, {"sid": str(session_id)})
        return AccessToken(token=token, expires_in=self._ttl)

    def verify(self, token: str) -> AccessTokenClaims:
        claims = self._decode(token, ACCESS_TOKEN_TYPE)
        try:
            return AccessTokenClaims(
                subject=UUID(claims["sub"]),
                session_id=UUID(claims["sid"]),
                token_id=str(claims["jti"]),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidTokenError() from exc

    def issue_mfa(self, user_id: UUID) -> str:
        return self._encode(user_id, MFA_TOKEN_TYPE, MFA_TOKEN_TTL_SECONDS, {})

    def verify_mfa(self, token: str) -> MfaTokenClaims:
        claims = self._decode(token, MFA_TOKEN_TYPE)
        try:
            return MfaTokenClaims(
                subject=UUID(claims["sub"]),
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidTokenError() from exc

    def _encode(self, user_id: UUID, kind: str, ttl_seconds: int, extra: dict[str, str]) -> str:
        now = self._clock.now()
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
            "jti": secrets.token_urlsafe(16),
            "type": kind,
            **extra,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def _decode(self, token: str, kind: str) -> dict[str, Any]:
        try:
            # `algorithms` pinned: "none" and every algorithm but ours are refused; exp and nbf
            # are checked against the real clock by PyJWT.
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS}
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidTokenError() from exc
        if claims.get("type") != kind:
            raise InvalidTokenError()
        return claims
