"""Ports of identity."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from app.domain.entities.user import User


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; raises EmailAlreadyRegisteredError if the e-mail is taken."""
        ...

    async def get(self, user_id: UUID) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """The user with this normalised e-mail address."""
        ...

    async def update(self, user: User, *, expected_version: int) -> bool:
        """Store `user` over the row still at `expected_version` (optimistic concurrency).

        False if another transaction changed the user first; the caller decides what that means.
        """
        ...
