"""Alembic, driven from code: the CLI, `make migrate` and the test fixtures all come through here."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.infrastructure.database.sqlite_file import prepare_sqlite_file

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "alembic"
logger = logging.getLogger("strata.migrations")


def alembic_config(database_url: str, feature_locations: Sequence[Path] = ()) -> Config:
    """The main migration tree, plus the version folders features bring of their own (each a
    branch that depends on the main tree)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if feature_locations:
        locations = [MIGRATIONS_DIR / "versions", *feature_locations]
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
    # ConfigParser interpolates '%': a URL-encoded password would otherwise break.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder (./var on a fresh checkout), and world-readable:
    both are made owner-only first."""
    prepare_sqlite_file(database_url)


def upgrade(
    database_url: str, revision: str = "heads", feature_locations: Sequence[Path] = ()
) -> None:
    """Migrate to `revision` (every branch's head by default). Blocking: call it from a thread
    when an event loop is running."""
    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url, feature_locations), revision)


def downgrade(database_url: str, revision: str, feature_locations: Sequence[Path] = ()) -> None:
    command.downgrade(alembic_config(database_url, feature_locations), revision)


class DatabaseNotMigratedError(RuntimeError):
    """The database's schema is not the one this code was written for."""


async def ensure_at_head(engine: AsyncEngine, feature_locations: Sequence[Path] = ()) -> None:
    """Refuse to serve a database that is not migrated to the latest revision, and say why.

    A database that does not answer yet is not refused here: readiness reports it (503) until it does.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False), feature_locations)
    script = ScriptDirectory.from_config(config)
    expected = set(script.get_heads())
    try:
        async with engine.connect() as connection:
            current = set(
                await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_heads()
                )
            )
    except (OperationalError, InterfaceError, OSError) as error:
        logger.warning("database unreachable at start-up", extra={"error": type(error).__name__})
        return
    # A feature branch that depends on a main-tree head leaves only its own head in the version
    # table (Alembic folds the dependency in): what is applied is the current heads and all they
    # stand on, dependencies included.
    if not current <= expected or not expected <= _applied(script, current):
        raise DatabaseNotMigratedError(
            f"the database is at revision {_named(current)}, this code expects "
            f"{_named(expected)}: run `strata migrate` (or `make migrate`) first"
        )


def _applied(script: ScriptDirectory, current: set[str]) -> set[str]:
    """The revisions `current` (all heads, so all known to `script`) stands on, itself included."""
    if not current:
        return set()
    return {
        revision.revision
        for revision in script.revision_map.iterate_revisions(
            tuple(current), "base", implicit_base=True, select_for_downgrade=True
        )
    }


def _named(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty)"
