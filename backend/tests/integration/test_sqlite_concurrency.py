"""The embedded default under concurrency: writers queue (BEGIN IMMEDIATE) instead of failing with
"database is locked", and readers never wait for a writer (WAL). Commits for real, so each test
gets its own SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from app.application.services.product import ProductSettings
from app.application.use_cases.product.update_product import UpdateProduct
from app.domain.entities.product import Product, ProductChanges
from app.domain.entities.user import Role
from app.infrastructure.adapters.access_policy import CasbinAccessPolicy
from app.infrastructure.adapters.clock import SystemClock
from app.infrastructure.database.engine import Database
from tests.builders import make_product, make_user
from tests.databases import fresh_database, sql_unit_of_work
from tests.fakes import DEFAULT_NOW

CATALOG = ProductSettings(categories=("books", "electronics", "clothing"))
CONCURRENT_WRITERS = 20
# Far below the 15 s busy timeout: a reader that had to wait for the writer would miss it.
NO_WAITING_SECONDS = 2.0


@pytest_asyncio.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file of this test's own."""
    async with fresh_database("sqlite", tmp_path) as url:
        database = Database(url)
        try:
            yield database
        finally:
            await database.dispose()


@pytest_asyncio.fixture
async def product(sqlite_database: Database) -> Product:
    product = make_product()
    async with sql_unit_of_work(sqlite_database.engine) as uow:
        await uow.products.add(product)
        await uow.commit()
    return product


async def read_product(database: Database, product: Product) -> Product | None:
    async with sql_unit_of_work(database.read_engine) as uow:
        return await uow.products.get(product.id)


async def rename(database: Database, product: Product, name: str) -> Product:
    """What `PATCH /products/{id}` does: read then write, in one write transaction."""
    use_case = UpdateProduct(
        sql_unit_of_work(database.engine),
        CasbinAccessPolicy(database.read_engine),  # it reads the database too, as in the app
        SystemClock(),
        CATALOG,
    )
    return await use_case.execute(
        make_user(email="admin@example.com", role=Role.ADMIN), product.id, ProductChanges(name=name)
    )


async def test_the_database_runs_in_wal_mode(sqlite_database: Database) -> None:
    async with sqlite_database.engine.connect() as connection:
        assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"


async def test_concurrent_read_then_write_transactions_never_see_a_locked_database(
    sqlite_database: Database, product: Product
) -> None:
    outcomes = await asyncio.gather(
        *(rename(sqlite_database, product, f"Edition {n}") for n in range(CONCURRENT_WRITERS)),
        return_exceptions=True,
    )

    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert failures == []
    # Each writer read the version its predecessor wrote: none was lost, none conflicted.
    versions = sorted(outcome.version for outcome in outcomes if isinstance(outcome, Product))
    assert versions == list(range(2, CONCURRENT_WRITERS + 2))
    final = await read_product(sqlite_database, product)
    assert final is not None
    assert final.version == CONCURRENT_WRITERS + 1


async def test_reads_proceed_while_a_writer_holds_its_transaction(
    sqlite_database: Database, product: Product
) -> None:
    async with sql_unit_of_work(sqlite_database.engine) as writer:
        renamed = product.apply(
            ProductChanges(name="Renamed"), now=DEFAULT_NOW, categories=CATALOG.category_set
        )
        assert await writer.products.replace(renamed, expected_version=1)

        async with asyncio.timeout(NO_WAITING_SECONDS):
            seen_meanwhile = await read_product(sqlite_database, product)

        await writer.commit()

    assert seen_meanwhile == product
    assert await read_product(sqlite_database, product) == renamed


async def test_a_writer_commits_while_a_reader_is_open_and_its_next_read_sees_it(
    sqlite_database: Database, product: Product
) -> None:
    async with sql_unit_of_work(sqlite_database.read_engine) as reader:
        assert await reader.products.get(product.id) == product

        # Without WAL the commit would wait for the reader's shared lock to go away.
        async with asyncio.timeout(NO_WAITING_SECONDS):
            renamed = await rename(sqlite_database, product, "Renamed")

        # Read-only connections run in autocommit: each statement reads the latest committed snapshot.
        assert await reader.products.get(product.id) == renamed


async def test_a_second_writer_waits_for_the_first_instead_of_failing(
    sqlite_database: Database, product: Product
) -> None:
    async with sql_unit_of_work(sqlite_database.engine) as first:
        renamed = product.apply(
            ProductChanges(name="First"), now=DEFAULT_NOW, categories=CATALOG.category_set
        )
        assert await first.products.replace(renamed, expected_version=1)

        second = asyncio.create_task(rename(sqlite_database, product, "Second"))
        await asyncio.sleep(0.3)
        assert not second.done()

        await first.commit()

    assert (await asyncio.wait_for(second, NO_WAITING_SECONDS)).version == 3


async def test_without_begin_immediate_a_read_then_write_fails_with_database_is_locked(
    sqlite_database: Database, product: Product
) -> None:
    """Why write connections begin IMMEDIATE: with a deferred BEGIN (what SQLAlchemy's docs set up
    for SQLite), a transaction that read before another writer committed cannot write any more,
    and SQLite says so at once."""
    plain_engine = create_async_engine(sqlite_database.url)

    @event.listens_for(plain_engine.sync_engine, "connect")
    def _driver_begins_nothing(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(plain_engine.sync_engine, "begin")
    def _deferred_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    try:
        async with sql_unit_of_work(plain_engine) as deferred:
            current = await deferred.products.get(product.id)
            assert current is not None
            await rename(sqlite_database, product, "Meanwhile")
            changed = current.apply(
                ProductChanges(name="Late"), now=DEFAULT_NOW, categories=CATALOG.category_set
            )

            with pytest.raises(OperationalError, match="database is locked"):
                await deferred.products.replace(changed, expected_version=current.version)
    finally:
        await plain_engine.dispose()


async def test_read_only_connections_refuse_to_write(
    sqlite_database: Database, product: Product
) -> None:
    changed = product.apply(
        ProductChanges(name="Sneaky"), now=DEFAULT_NOW, categories=CATALOG.category_set
    )
    async with sql_unit_of_work(sqlite_database.read_engine) as uow:
        with pytest.raises(OperationalError, match="readonly"):
            await uow.products.replace(changed, expected_version=1)
    assert await read_product(sqlite_database, product) == product
