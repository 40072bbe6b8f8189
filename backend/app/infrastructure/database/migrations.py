"""Alembic, driven from code: the CLI, `make migrate` and the test fixtures all come through here."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy.engine import make_url

from alembic import command

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "alembic"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%': a URL-encoded password would otherwise break.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder (./var on a fresh checkout)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate to `revision`. Blocking: call it from a thread when an event loop is running."""
    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
