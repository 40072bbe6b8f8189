"""Rows other repositories' tests need in place (a user for a session, a payment, a resource)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.user import User
from app.infrastructure.repositories.user import SqlAlchemyUserRepository
from tests.builders import make_user


async def stored_user(connection: AsyncConnection, email: str = "alice@example.com") -> User:
    """A user, stored on the test's connection (rolled back with it)."""
    user = make_user(email=email)
    await SqlAlchemyUserRepository(connection).add(user)
    return user
