"""The per-request database session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

# Requests with these methods only read; any other may write and, on SQLite, takes the write lock
# with its first statement (BEGIN IMMEDIATE) so that concurrent writers wait instead of failing.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield the request's session from the factories the app built at start-up.

    Whatever the use case did not commit is rolled back; the session is always closed.
    """
    factories = request.app.state.session_factories
    factory = cast(
        "Callable[[], AsyncSession]",
        factories.read if request.method in READ_ONLY_METHODS else factories.write,
    )
    session = factory()
    try:
        yield session
    finally:
        await session.close()  # closing rolls back an open transaction
