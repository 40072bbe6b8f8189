"""The migration stairway, and the migrated schema against the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.infrastructure.database import migrations
from app.infrastructure.database.base import Base, is_modelled
from app.infrastructure.database.engine import Database
from tests.databases import fresh_database, registered_features

registered_features()  # every feature's tables into Base.metadata
APPLICATION_TABLES = {table.name for table in Base.metadata.sorted_tables}


def revisions_oldest_first(url: str) -> list[str]:
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


async def schema_state(url: str) -> tuple[str | None, set[str]]:
    """The revision the database is at, and its application tables."""

    def read(connection: Connection) -> tuple[str | None, set[str]]:
        revision = MigrationContext.configure(connection).get_current_revision()
        return revision, set(inspect(connection).get_table_names()) & APPLICATION_TABLES

    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await database.dispose()


async def test_every_migration_goes_up_down_and_up_again(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path, migrate=False) as url:
        revisions = revisions_oldest_first(url)
        assert revisions, "no migrations found"
        assert await schema_state(url) == (None, set())

        for revision in revisions:
            await asyncio.to_thread(migrations.upgrade, url, revision)
            assert (await schema_state(url))[0] == revision
        assert await schema_state(url) == (revisions[-1], APPLICATION_TABLES)

        for below in [None, *revisions[:-1]][::-1]:
            await asyncio.to_thread(migrations.downgrade, url, below or "base")
            assert (await schema_state(url))[0] == below
        assert await schema_state(url) == (None, set())

        for revision in revisions:
            await asyncio.to_thread(migrations.upgrade, url, revision)
        assert await schema_state(url) == (revisions[-1], APPLICATION_TABLES)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True, "include_object": is_modelled},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_matches_the_models(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as url:
        database = Database(url)
        try:
            async with database.engine.connect() as connection:
                differences = await connection.run_sync(_differences)
        finally:
            await database.dispose()

    assert differences == []
