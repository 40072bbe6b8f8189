"""Access tokens and MFA tokens as JWTs (PyJWT, HS256).

Each kind carries a `type` claim and is verified only as that kind: an MFA token (or anything else)
presented as an access token is refused, and the other way round. Refresh tokens are not JWTs at
all (see domain/entities/session.py), so they can never pass as either.

Every claim is read strictly and fails closed (InvalidTokenError, a 401): times are integers no
later than year 9999, and a token lives no longer than its kind is issued for; identifiers are
canonical UUID strings, the token id a short string. Only a holder of the signing key can make a
token with odd claims, but even then the answer is a refusal, never an error.

An access token is verified on every authenticated request (twice: the rate limiter keys on its
user), and a client sends the same one for its whole life. PyJWT re-derives the key, decodes and
checks everything each time: about a tenth of an authenticated GET. So each service remembers the
access tokens it has verified, by their exact text, until they expire: the same bytes under the
same key verify the same way, and the expiry is checked again on every use against the real
clock, as PyJWT checks it. Nothing else is skipped: the session and the deny-list are still asked
on every request (see Authenticate), so a logout or a revocation is obeyed at once.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from app.application.interfaces.clock import Clock
from app.application.interfaces.security import AccessToken, AccessTokenClaims, MfaTokenClaims
from app.domain.entities.session import InvalidTokenError

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
MFA_TOKEN_TYPE = "mfa"  # noqa: S105 - a claim value, not a secret
MFA_TOKEN_TTL_SECONDS = 300
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "nbf", "jti", "type"]
# Ours are about 400 characters; a bound keeps a huge one from being decoded at all.
MAX_TOKEN_LENGTH = 4096
TOKEN_ID_MAX_LENGTH = 64
_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime can hold
_UUID_LENGTH = 36
# Verified access tokens remembered per process; when full, the memo starts again (a few hundred
# bytes each: a bound on memory, not a cache that must be tuned).
MAX_REMEMBERED_TOKENS = 2048


class JwtTokenService:
    """`AccessTokenService` and `MfaTokenService` ports."""

    def __init__(self, *, signing_key: str, ttl_seconds: int, clock: Clock) -> None:
        self._key = signing_key
        self._ttl = ttl_seconds
        self._clock = clock
        self._verified: dict[str, tuple[AccessTokenClaims, int]] = {}

    def issue(self, user_id: UUID, session_id: UUID) -> AccessToken:
        token = self._encode(user_id, ACCESS_TOKEN_TYPE, self._ttl, {"sid": str(session_id)})
        return AccessToken(token=token, expires_in=self._ttl)

    def verify(self, token: str) -> AccessTokenClaims:
        remembered = self._verified.get(token)
        # PyJWT's own expiry rule (valid while now < exp), on the same clock it reads.
        if remembered is not None and time.time() < remembered[1]:
            return remembered[0]
        claims = self._decode(token, ACCESS_TOKEN_TYPE, self._ttl)
        verified = AccessTokenClaims(
            subject=_uuid(claims, "sub"),
            session_id=_uuid(claims, "sid"),
            token_id=_token_id(claims),
            issued_at=_time(claims, "iat"),
            expires_at=_time(claims, "exp"),
        )
        if len(self._verified) >= MAX_REMEMBERED_TOKENS:
            self._verified.clear()
        self._verified[token] = (verified, _timestamp(claims, "exp"))
        return verified

    def issue_mfa(self, user_id: UUID) -> str:
        return self._encode(user_id, MFA_TOKEN_TYPE, MFA_TOKEN_TTL_SECONDS, {})

    def verify_mfa(self, token: str) -> MfaTokenClaims:
        claims = self._decode(token, MFA_TOKEN_TYPE, MFA_TOKEN_TTL_SECONDS)
        return MfaTokenClaims(
            subject=_uuid(claims, "sub"),
            token_id=_token_id(claims),
            expires_at=_time(claims, "exp"),
        )

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

    def _decode(self, token: str, kind: str, lifetime_seconds: int) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError()
        try:
            # `algorithms` pinned: "none" and every algorithm but ours are refused; exp and nbf
            # are checked against the real clock by PyJWT. Anything it raises on a token it
            # cannot read (an overflow of an infinite time, a recursion of a deeply nested
            # header) is a refusal too.
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS}
            )
        except (jwt.PyJWTError, ValueError, TypeError, ArithmeticError, RecursionError) as exc:
            raise InvalidTokenError() from exc
        if claims.get("type") != kind:
            raise InvalidTokenError()
        issued_at, _, expires_at = (_timestamp(claims, name) for name in _TIMES)
        # PyJWT refuses an `iat` in the future; nor may a token outlive what its kind is issued
        # for (which also bounds how long a deny-list keeps its id).
        if expires_at - issued_at > lifetime_seconds:
            raise InvalidTokenError()
        return claims


_TIMES = ("iat", "nbf", "exp")


def _timestamp(claims: dict[str, Any], name: str) -> int:
    """A NumericDate as we issue them: an integer (never a bool or float) a datetime can hold."""
    value = claims.get(name)
    if type(value) is not int or not 0 <= value <= _MAX_TIMESTAMP:
        raise InvalidTokenError()
    return value


def _time(claims: dict[str, Any], name: str) -> datetime:
    return datetime.fromtimestamp(_timestamp(claims, name), UTC)


def _uuid(claims: dict[str, Any], name: str) -> UUID:
    """A UUID in its canonical 36-character form only (no braces, "urn:uuid:" or bare hex)."""
    value = claims.get(name)
    if not isinstance(value, str) or len(value) != _UUID_LENGTH:
        raise InvalidTokenError()
    try:
        parsed = UUID(value)
    except ValueError as exc:
        raise InvalidTokenError() from exc
    if str(parsed) != value.lower():
        raise InvalidTokenError()
    return parsed


def _token_id(claims: dict[str, Any]) -> str:
    value = claims.get("jti")
    if not isinstance(value, str) or not 0 < len(value) <= TOKEN_ID_MAX_LENGTH:
        raise InvalidTokenError()
    return value
