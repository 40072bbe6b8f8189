"""Real test databases: a migrated SQLite file, or a PostgreSQL database of the run's own."""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.infrastructure.database import migrations
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from app.presentation.features.enabled import ENABLED_FEATURES
from app.presentation.features.registry import FeatureSet

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")
# PostgreSQL with the `vector` extension (a bundled server: Debian's has none), for the tests of
# vector search, which run on all three.
PGVECTOR = "pgvector"


@functools.cache
def registered_features() -> FeatureSet:
    """The app's features; loading them also puts every table into `Base.metadata`."""
    return FeatureSet.load(ENABLED_FEATURES)


def sql_unit_of_work(engine: AsyncEngine, **options: Any) -> SqlAlchemyUnitOfWork:
    """A unit of work over every repository the app's features register (repository tests)."""
    return SqlAlchemyUnitOfWork(engine, registered_features().repositories, **options)


def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(
    backend: str, tmp_dir: Path, *, migrate: bool = True, admin_url: str | None = None
) -> AsyncIterator[str]:
    """The URL of an empty database (migrated to head unless `migrate=False`), dropped afterwards.

    On PostgreSQL it is made on the server of `admin_url` (by default TEST_POSTGRES_URL's; the
    pipeline tests pass the server that has pgvector)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_dir / f'strata-{uuid.uuid4().hex[:8]}.db'}"
        if migrate:
            await asyncio.to_thread(migrations.upgrade, url)
        yield url
        return
    admin_url = admin_url or postgres_admin_url()
    name = f"strata_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            await asyncio.to_thread(migrations.upgrade, url)
        yield url
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(admin_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
