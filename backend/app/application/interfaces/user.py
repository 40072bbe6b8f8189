"""Ports of identity."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.application.interfaces.audit import AuditUnitOfWork
from app.application.interfaces.events import OutboxUnitOfWork
from app.domain.entities.user import User

USER = "user"
USER_OBJECT_TYPES = (USER,)


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; raises EmailAlreadyRegisteredError if the e-mail is taken."""
        ...

    async def get(self, user_id: UUID) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """The user with this normalised e-mail address."""
        ...

    async def get_in_session(self, user_id: UUID, session_id: UUID, now: datetime) -> User | None:
        """The user, if `session_id` is one of their sessions and has not expired (one query)."""
        ...

    async def list_page(self, *, after: UUID | None, limit: int) -> list[User]:
        """Users by id, those after `after` when it is given."""
        ...

    async def delete(self, user_id: UUID) -> bool:
        """Remove the account row; rows that belong to it (sessions, tokens) go with it."""
        ...

    async def update(self, user: User, *, expected_version: int) -> bool:
        """Store `user` over the row still at `expected_version` (optimistic concurrency).

        False if another transaction changed the user first; the caller decides what that means.
        """
        ...


class UserUnitOfWork(AuditUnitOfWork, OutboxUnitOfWork, Protocol):
    """What the user feature's use cases touch."""

    @property
    def users(self) -> UserRepository: ...
