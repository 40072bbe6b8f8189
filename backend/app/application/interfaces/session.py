"""Ports of sessions: where sessions are kept, and the deny-list of revoked access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.application.interfaces.user import UserUnitOfWork
from app.domain.entities.session import Session


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def get(self, session_id: UUID) -> Session | None: ...

    async def rotate(self, session: Session, *, previous_hash: str) -> bool:
        """Store the rotated `session` if its refresh hash is still `previous_hash`.

        False if another request spent that refresh token first (the caller treats it as reuse).
        """
        ...

    async def list_active(self, user_id: UUID, now: datetime) -> list[Session]:
        """The user's unexpired sessions, newest first."""
        ...

    async def delete(self, session_id: UUID) -> bool:
        """Revoke one session; False if there was none."""
        ...

    async def delete_all_for_user(self, user_id: UUID, *, keep: UUID | None = None) -> int:
        """Revoke every session of the user, except `keep`; how many were revoked."""
        ...

    async def delete_expired_of_anyone(self, now: datetime, *, limit: int) -> int:
        """Delete up to `limit` expired sessions of any user; how many were deleted.

        So the user agent and address of a session never outlive it, even when its user never
        comes back.
        """
        ...

    async def prune(self, user_id: UUID, now: datetime, *, keep: int) -> int:
        """Delete the user's expired sessions and their oldest live ones beyond the newest `keep`,
        in one statement; how many were deleted."""
        ...


class TokenDenyList(Protocol):
    """Access tokens revoked before they expire (logout), by token id (`jti`).

    Shared by every API process where Redis is configured. When it cannot be asked, it raises
    DependencyUnavailableError: a revoked token must never be let through (fail closed).
    """

    async def deny(self, token_id: str, *, until: datetime) -> None: ...

    async def is_denied(self, token_id: str) -> bool: ...


class SessionUnitOfWork(UserUnitOfWork, Protocol):
    """What the session feature's use cases (log in, refresh, log out, the session list) touch."""

    @property
    def sessions(self) -> SessionRepository: ...
