"""Real test databases: a migrated SQLite file, or a PostgreSQL database of the run's own."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from app.infrastructure.database import migrations

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(
    backend: str, tmp_dir: Path, *, migrate: bool = True
) -> AsyncIterator[str]:
    """The URL of an empty database (migrated to head unless `migrate=False`), dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_dir / f'strata-{uuid.uuid4().hex[:8]}.db'}"
        if migrate:
            await asyncio.to_thread(migrations.upgrade, url)
        yield url
        return
    admin_url = postgres_admin_url()
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
