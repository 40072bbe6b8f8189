from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection

from app.infrastructure.database.engine import Database


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """A write connection inside a transaction that is rolled back after the test.

    Repositories built on it see each other's writes; nothing survives the test. A repository
    that needs a savepoint (a duplicate e-mail) gets one inside this transaction.
    """
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()
