"""Ports for credentials and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


class PasswordHasher(Protocol):
    """Hashes passwords (Argon2id in production) without blocking the event loop.

    Both `hash` and `verify` work on the password's NFKC form (domain `normalize_password`), so
    callers pass the password exactly as typed.
    """

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str) -> bool:
        """True if `password` matches; never raises for a malformed hash, answers False.

        A hash made before passwords were normalized matches the password as typed: `verify`
        is True for it, while `verify(normalize_password(password), ...)` is False (a legacy
        hash, which a login replaces).
        """
        ...

    async def burn_time(self, password: str) -> None:
        """Spend as long as a real verification, so a missing account cannot be told by timing."""
        ...


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int  # seconds


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    subject: UUID
    session_id: UUID
    token_id: str
    issued_at: datetime
    expires_at: datetime


class AccessTokenService(Protocol):
    def issue(self, user_id: UUID, session_id: UUID) -> AccessToken: ...

    def verify(self, token: str) -> AccessTokenClaims:
        """The claims of a valid, unexpired access token; InvalidTokenError otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class MfaTokenClaims:
    subject: UUID
    token_id: str
    expires_at: datetime


class MfaTokenService(Protocol):
    """The short-lived proof that a password was right, pending the second factor.

    It is not an access token: it opens nothing but `/auth/mfa/verify`.
    """

    def issue_mfa(self, user_id: UUID) -> str: ...

    def verify_mfa(self, token: str) -> MfaTokenClaims:
        """The claims of a valid, unexpired MFA token; InvalidTokenError otherwise."""
        ...


class SecretBox(Protocol):
    """Seals small secrets (a TOTP seed) for storage at rest with authenticated encryption.

    `open` answers the original text, or raises if the sealed value was altered or its key is gone.
    """

    def seal(self, plaintext: str) -> str: ...

    def open(self, sealed: str) -> str: ...
