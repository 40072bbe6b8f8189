"""Access tokens as JWTs (PyJWT, HS256)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from app.application.interfaces.clock import Clock
from app.application.interfaces.security import AccessToken, AccessTokenClaims
from app.domain.errors import InvalidTokenError

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type"]


class JwtAccessTokenService:
    def __init__(self, *, signing_key: str, ttl_seconds: int, clock: Clock) -> None:
        self._key = signing_key
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, user_id: UUID) -> AccessToken:
        now = self._clock.now()
        claims = {
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self._ttl)).timestamp()),
            "jti": secrets.token_urlsafe(16),
            "type": ACCESS_TOKEN_TYPE,
        }
        return AccessToken(
            token=jwt.encode(claims, self._key, algorithm=ALGORITHM), expires_in=self._ttl
        )

    def verify(self, token: str) -> AccessTokenClaims:
        try:
            # `algorithms` pinned: "none" and every algorithm but ours are refused.
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": _REQUIRED_CLAIMS},
            )
            if claims["type"] != ACCESS_TOKEN_TYPE:
                raise InvalidTokenError()
            return AccessTokenClaims(
                subject=UUID(claims["sub"]),
                token_id=str(claims["jti"]),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidTokenError() from exc
