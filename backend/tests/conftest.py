"""Fixtures shared by every layer of tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from app.infrastructure.database.base import Base
from app.infrastructure.database.engine import Database
from tests.databases import BACKENDS, fresh_database


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that needs a database runs once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest_asyncio.fixture(scope="session")
async def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A database migrated to head, shared by the session's tests of one backend."""
    tmp_dir: Path = tmp_path_factory.mktemp(f"db-{backend}")
    async with fresh_database(backend, tmp_dir) as url:
        yield url


async def empty_all_tables(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608 - our own table names
    finally:
        await database.dispose()
