"""Fixtures shared by every layer of tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import insert, select, text

from app.application.interfaces.access import PolicyRule
from app.infrastructure.database.base import Base
from app.infrastructure.database.engine import Database
from app.infrastructure.models.access import CasbinRuleModel
from tests.databases import BACKENDS, PGVECTOR, fresh_database, registered_features
from tests.pgvector_fixture import pgvector_postgres_url  # noqa: F401  (a session fixture)
from tests.redis_databases import use_this_workers_databases
from tests.stripe_fake import StripeFake

use_this_workers_databases()  # before any test module reads its Redis URL


@pytest.fixture(scope="session", params=(*BACKENDS, PGVECTOR))
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that needs a database runs once on SQLite and once on PostgreSQL; those marked
    `vector_search` also on PostgreSQL with pgvector (see `pytest_collection_modifyitems`).

    One fixture for every module: a module that defined its own `backend` would get the session's
    databases of another module's backend (pytest caches `database_url` across both)."""
    return str(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the pgvector run of a test only where it is marked `vector_search`."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pgvector = callspec is not None and callspec.params.get("backend") == PGVECTOR
        if on_pgvector and item.get_closest_marker("vector_search") is None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest_asyncio.fixture(scope="session")
async def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A database migrated to head, shared by the session's tests of one backend."""
    tmp_dir: Path = tmp_path_factory.mktemp(f"db-{backend}")
    admin_url = request.getfixturevalue("pgvector_postgres_url") if backend == PGVECTOR else None
    async with fresh_database(backend, tmp_dir, admin_url=admin_url) as url:
        _migrated_policies[url] = await read_policy_rows(url)
        yield url


# Configuration rather than data: reset to what a fresh installation has, not emptied.
_POLICY_TABLES = frozenset({"casbin_rule", "access_policy_version"})
# The policy lines each session database had right after its migrations, by URL.
_migrated_policies: dict[str, list[dict[str, Any]]] = {}
_POLICY_LINE_COLUMNS = [
    column for column in CasbinRuleModel.__table__.columns if not column.primary_key
]


async def read_policy_rows(database_url: str) -> list[dict[str, Any]]:
    """The stored policy lines (without their ids), as the migrations or the tests left them."""
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            rows = await connection.execute(select(*_POLICY_LINE_COLUMNS))
            return [dict(row) for row in rows.mappings()]
    finally:
        await database.dispose()


def migrated_policy_rules(database_url: str) -> list[PolicyRule]:
    """The rules the migrations stored in the session's database at `database_url`, sorted."""
    return sorted(
        PolicyRule(row["v0"], row["v1"], row["v2"], row["v3"])
        for row in _migrated_policies[database_url]
        if row["ptype"] == "p"
    )


async def empty_all_tables(database_url: str) -> None:
    """Delete every row a test wrote; the access policy goes back to what the migrations stored
    (read once, after them: never rebuilt from the application's own constants)."""
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            registered_features()  # every table of the app in Base.metadata
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in _POLICY_TABLES:
                    await connection.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608 - our own table names
            await connection.execute(text("DELETE FROM casbin_rule"))
            await connection.execute(
                insert(CasbinRuleModel.__table__), _migrated_policies[database_url]
            )
            await connection.execute(
                text("UPDATE access_policy_version SET version = version + 1 WHERE id = 1")
            )
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeFake]:
    """One local Stripe stand-in for the whole run (see tests/stripe_fake.py)."""
    fake = StripeFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_fake(stripe_server: StripeFake) -> StripeFake:
    """The Stripe stand-in, emptied and with nothing scripted, for one test."""
    stripe_server.reset()
    return stripe_server


@pytest_asyncio.fixture
async def committing_database(database_url: str) -> AsyncIterator[Database]:
    """The shared database for tests that commit for real (on connections of their own): every
    table is emptied afterwards, since no rolled-back outer transaction can undo a commit."""
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()
        await empty_all_tables(database_url)
