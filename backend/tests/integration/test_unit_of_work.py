"""SqlAlchemyUnitOfWork commits for real: these tests use their own connections on the shared database
and empty its tables afterwards, since a rolled-back outer transaction could not show a commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SqlAlchemyTimeoutError

from app.domain.entities.product import Product
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from tests.builders import make_product
from tests.databases import registered_features, sql_unit_of_work


class CheckoutFailedError(Exception):
    """Something a use case might raise halfway through its transaction."""


async def stored(database: Database, product: Product) -> Product | None:
    """The product as a brand-new unit of work, on another connection, sees it."""
    async with sql_unit_of_work(database.read_engine) as uow:
        return await uow.products.get(product.id)


async def test_commit_makes_writes_visible_to_another_connection(
    committing_database: Database,
) -> None:
    product = make_product()

    async with sql_unit_of_work(committing_database.engine) as uow:
        await uow.products.add(product)
        await uow.commit()

    assert await stored(committing_database, product) == product


async def test_leaving_without_commit_rolls_back(committing_database: Database) -> None:
    product = make_product()

    async with sql_unit_of_work(committing_database.engine) as uow:
        await uow.products.add(product)
        assert await uow.products.get(product.id) == product

    assert await stored(committing_database, product) is None


async def add_then_fail(database: Database, product: Product) -> None:
    async with sql_unit_of_work(database.engine) as uow:
        await uow.products.add(product)
        raise CheckoutFailedError


async def test_an_exception_inside_rolls_back_and_propagates(
    committing_database: Database,
) -> None:
    product = make_product()

    with pytest.raises(CheckoutFailedError):
        await add_then_fail(committing_database, product)

    assert await stored(committing_database, product) is None


async def test_writes_after_a_commit_roll_back_without_a_second_commit(
    committing_database: Database,
) -> None:
    kept, dropped = make_product(name="Kept"), make_product(name="Dropped")

    async with sql_unit_of_work(committing_database.engine) as uow:
        await uow.products.add(kept)
        await uow.commit()
        await uow.products.add(dropped)

    assert await stored(committing_database, kept) == kept
    assert await stored(committing_database, dropped) is None


async def test_the_connection_is_held_only_inside_the_block(
    committing_database: Database,
) -> None:
    uow = sql_unit_of_work(committing_database.engine)
    assert committing_database.pool_in_use() == 0
    async with uow:
        await uow.products.add(make_product())
        assert committing_database.pool_in_use() == 1

    assert committing_database.pool_in_use() == 0
    # The same unit of work opens a fresh transaction the next time.
    async with uow:
        assert await uow.products.count() == 0


async def test_units_of_work_do_not_nest(committing_database: Database) -> None:
    uow = sql_unit_of_work(committing_database.engine)
    async with uow:
        with pytest.raises(RuntimeError, match="do not nest"):
            await uow.__aenter__()


async def test_commit_outside_the_block_is_a_programming_error(
    committing_database: Database,
) -> None:
    with pytest.raises(RuntimeError, match="outside"):
        await sql_unit_of_work(committing_database.engine).commit()


async def test_a_read_only_unit_of_work_cannot_write_on_either_database(
    committing_database: Database,
) -> None:
    with pytest.raises(DBAPIError):
        await add_and_commit(sql_unit_of_work(committing_database.read_engine))
    async with sql_unit_of_work(committing_database.read_engine) as uow:
        assert await uow.products.count() == 0


async def add_and_commit(uow: SqlAlchemyUnitOfWork) -> None:
    async with uow:
        await uow.products.add(make_product())
        await uow.commit()


async def test_sqlite_writers_of_one_process_queue_at_the_write_gate(tmp_path: Path) -> None:
    """One writing unit of work at a time on SQLite: the next waits in the event loop (no busy
    sleeping), gets in as soon as the first ends, and gives up with a timeout, never hangs."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}", pool_timeout=0.2)
    assert database.write_gate is not None

    def writer() -> SqlAlchemyUnitOfWork:
        return sql_unit_of_work(
            database.engine,
            write_gate=database.write_gate,
            gate_timeout=database.write_gate_timeout,
        )

    try:
        async with writer():
            assert database.write_gate.locked()
            with pytest.raises(SqlAlchemyTimeoutError):
                async with writer():
                    pass
        assert not database.write_gate.locked()
        async with writer():  # free again after the first one ended
            pass
        with pytest.raises(RuntimeError):
            async with writer():
                raise RuntimeError("a failing use case")
        assert not database.write_gate.locked()
    finally:
        await database.dispose()


async def test_a_snapshot_unit_of_work_reads_one_picture_of_the_database(
    committing_database: Database,
) -> None:
    """What the GDPR export relies on: a write committed between two of its reads is seen by
    neither, where the plain read-only unit of work (each statement its own snapshot) sees it."""
    await add_and_commit(sql_unit_of_work(committing_database.engine))

    snapshot_uow = sql_unit_of_work(committing_database.read_engine, snapshot=True)
    per_statement_uow = sql_unit_of_work(committing_database.read_engine)
    async with snapshot_uow as snapshot, per_statement_uow as per_statement:
        before = await snapshot.products.count()
        assert await per_statement.products.count() == before
        await add_and_commit(sql_unit_of_work(committing_database.engine))

        assert await snapshot.products.count() == before
        assert await per_statement.products.count() == before + 1


async def test_a_snapshot_refuses_writes_and_hands_its_connection_back_clean(
    committing_database: Database,
) -> None:
    with pytest.raises(DBAPIError):
        async with sql_unit_of_work(committing_database.read_engine, snapshot=True) as uow:
            await uow.products.add(make_product())
    # The pooled connection is not left inside the snapshot: a later reader sees new rows.
    await add_and_commit(sql_unit_of_work(committing_database.engine))
    async with sql_unit_of_work(committing_database.read_engine) as uow:
        assert await uow.products.count() == 1


async def test_a_unit_of_work_exposes_only_the_repositories_it_is_given(
    committing_database: Database,
) -> None:
    uow = SqlAlchemyUnitOfWork(
        committing_database.read_engine,
        {"products": registered_features().repositories["products"]},
    )
    with pytest.raises(RuntimeError, match="outside `async with`"):
        _ = uow.products
    async with uow:
        assert await uow.products.count() == 0
        with pytest.raises(AttributeError, match="'users'"):
            _ = uow.users
