"""The SQLite driver of one trip per statement (`sqlite_driver`): a statement's cursor, execute,
fetch and close reach aiosqlite's thread in one trip, its results come back as SQLAlchemy's own
adapter gives them, and the pool's reset ROLLBACK is left out only when SQLite has no transaction
open and no statement of ours is still on its way. A real SQLite file per test."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import pytest_asyncio
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_ss_cursor
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util.concurrency import greenlet_spawn

from app.infrastructure.database.engine import Database
from app.infrastructure.database.sqlite_driver import OneTripConnection, OneTripCursor

_metadata = MetaData()
ITEM = Table(
    "item",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("qty", Integer, nullable=False),
)
# A writer that had to wait for a lock left behind would wait the 15 s busy timeout.
NO_WAITING_SECONDS = 5.0


@pytest_asyncio.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file of this test's own, with an `item` table of three rows."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
            await connection.execute(
                ITEM.insert(),
                [{"name": name, "qty": qty} for name, qty in (("a", 1), ("b", 2), ("c", 3))],
            )
        yield database
    finally:
        await database.dispose()


async def adapter_of(connection: AsyncConnection) -> OneTripConnection:
    """The driver's adapter (SQLAlchemy's DBAPI connection) under a checked-out connection."""
    adapter = (await connection.get_raw_connection()).dbapi_connection
    assert isinstance(adapter, OneTripConnection)
    return adapter


class TripCounter:
    """Counts the trips to an aiosqlite connection's thread (every call goes through `_execute`),
    and its `rollback` calls."""

    def __init__(self, driver: Any) -> None:
        assert isinstance(driver, aiosqlite.Connection)
        self.driver = driver
        self.trips = 0
        self.rollbacks = 0
        self._execute: Any = driver._execute
        self._rollback: Any = driver.rollback

    async def _counted_execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.trips += 1
        return await self._execute(fn, *args, **kwargs)

    async def _counted_rollback(self) -> None:
        self.rollbacks += 1
        await self._rollback()

    @contextmanager
    def installed(self) -> Iterator[TripCounter]:
        self.driver._execute = self._counted_execute  # type: ignore[method-assign]
        self.driver.rollback = self._counted_rollback  # type: ignore[method-assign]
        try:
            yield self
        finally:
            del self.driver._execute
            del self.driver.rollback

    async def trips_of(self, statement: Callable[[], Awaitable[Any]]) -> tuple[int, Any]:
        before = self.trips
        outcome = await statement()
        return self.trips - before, outcome


async def counter_of(connection: AsyncConnection) -> TripCounter:
    return TripCounter((await connection.get_raw_connection()).driver_connection)


async def the_only_pooled_driver(database: Database, *, read: bool) -> aiosqlite.Connection:
    """The aiosqlite connection the next checkout gets (the tests use one connection a pool)."""
    engine = database.read_engine if read else database.engine
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, aiosqlite.Connection)
    return driver


async def names(database: Database) -> list[str]:
    async with database.read_engine.connect() as connection:
        return list((await connection.scalars(select(ITEM.c.name).order_by(ITEM.c.id))).all())


async def can_write_at_once(database: Database) -> None:
    """A new write transaction begins (BEGIN IMMEDIATE) without waiting for a lock left open."""

    async def write() -> None:
        async with database.engine.begin() as connection:
            await connection.execute(ITEM.update().where(ITEM.c.name == "a").values(qty=10))

    await asyncio.wait_for(write(), NO_WAITING_SECONDS)


async def settled(adapter: OneTripConnection) -> None:
    """Until the connection's thread has finished every statement sent to it (a bounded wait)."""
    for _ in range(int(NO_WAITING_SECONDS / 0.01)):
        if not adapter.trips.pending:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a statement never finished in the connection's thread")


# ------------------------------------------------------------------ one trip per statement


async def test_a_select_of_several_rows_is_one_trip(sqlite_db: Database) -> None:
    async with sqlite_db.read_engine.connect() as connection:
        with (await counter_of(connection)).installed() as counter:
            trips, result = await counter.trips_of(
                lambda: connection.execute(select(ITEM.c.name, ITEM.c.qty).order_by(ITEM.c.id))
            )
            assert trips == 1
            assert list(result.keys()) == ["name", "qty"]
            assert [tuple(row) for row in result.all()] == [("a", 1), ("b", 2), ("c", 3)]


async def test_fetching_in_parts_serves_the_rows_from_memory(sqlite_db: Database) -> None:
    async with sqlite_db.read_engine.connect() as connection:
        with (await counter_of(connection)).installed() as counter:
            result = await connection.execute(select(ITEM.c.name).order_by(ITEM.c.id))
            before = counter.trips
            assert result.fetchone() == ("a",)
            assert result.fetchmany(1) == [("b",)]
            assert result.fetchall() == [("c",)]
            assert counter.trips == before


async def test_a_select_of_no_rows_keeps_its_columns(sqlite_db: Database) -> None:
    async with sqlite_db.read_engine.connect() as connection:
        result = await connection.execute(select(ITEM.c.id, ITEM.c.name).where(ITEM.c.qty > 99))
        assert list(result.keys()) == ["id", "name"]
        assert result.all() == []


async def test_insert_update_and_delete_are_one_trip_each_with_their_counts(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.engine.begin() as connection:
        with (await counter_of(connection)).installed() as counter:
            trips, inserted = await counter.trips_of(
                lambda: connection.exec_driver_sql(
                    "INSERT INTO item (name, qty) VALUES (?, ?)", ("d", 4)
                )
            )
            assert trips == 1
            assert inserted.rowcount == 1
            assert inserted.lastrowid == 4
            assert not inserted.returns_rows

            trips, updated = await counter.trips_of(
                lambda: connection.execute(
                    ITEM.update().where(ITEM.c.qty >= 2).values(qty=ITEM.c.qty + 1)
                )
            )
            assert trips == 1
            assert updated.rowcount == 3

            trips, deleted = await counter.trips_of(
                lambda: connection.execute(ITEM.delete().where(ITEM.c.name == "nobody"))
            )
            assert trips == 1
            assert deleted.rowcount == 0
    assert await names(sqlite_db) == ["a", "b", "c", "d"]


async def test_an_insert_gives_its_primary_key(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as connection:
        result = await connection.execute(ITEM.insert().values(name="d", qty=4))
        assert result.inserted_primary_key == (4,)


async def test_returning_comes_back_with_its_rows_and_count(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as connection:
        with (await counter_of(connection)).installed() as counter:
            trips, result = await counter.trips_of(
                lambda: connection.execute(
                    ITEM.update()
                    .where(ITEM.c.qty <= 2)
                    .values(qty=ITEM.c.qty * 10)
                    .returning(ITEM.c.name, ITEM.c.qty)
                )
            )
            assert trips == 1
            assert list(result.keys()) == ["name", "qty"]
            assert sorted(result.all()) == [("a", 10), ("b", 20)]
            assert result.rowcount == 2


async def test_executemany_inserts_every_row_in_one_trip(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as connection:
        with (await counter_of(connection)).installed() as counter:
            adapter = await adapter_of(connection)
            sent = adapter.trips.sent
            trips, result = await counter.trips_of(
                lambda: connection.execute(
                    text("INSERT INTO item (name, qty) VALUES (:name, :qty)"),
                    [{"name": "d", "qty": 4}, {"name": "e", "qty": 5}, {"name": "f", "qty": 6}],
                )
            )
            assert trips == 1
            assert adapter.trips.sent == sent + 1
            assert not adapter.trips.pending
            assert result.rowcount == 3
    assert await names(sqlite_db) == ["a", "b", "c", "d", "e", "f"]


async def test_executemany_with_returning_gives_every_row(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as connection:
        result = await connection.execute(
            ITEM.insert().returning(ITEM.c.id, ITEM.c.name, sort_by_parameter_order=True),
            [{"name": "d", "qty": 4}, {"name": "e", "qty": 5}],
        )
        assert result.all() == [(4, "d"), (5, "e")]


async def test_the_cursor_behaves_as_a_dbapi_cursor(sqlite_db: Database) -> None:
    """What SQLAlchemy may ask of a DBAPI cursor besides execute, on this cursor."""
    async with sqlite_db.read_engine.connect() as connection:
        adapter = await adapter_of(connection)

        def use_the_cursor() -> None:
            cursor = adapter.cursor()
            assert isinstance(cursor, OneTripCursor)
            before_any: tuple[Any, ...] = (cursor.description, cursor.rowcount, cursor.lastrowid)
            assert before_any == (None, -1, None)
            cursor.setinputsizes(None)  # a no-op, as sqlite3's
            cursor.arraysize = 2
            assert cursor.arraysize == 2
            cursor.execute("SELECT name FROM item ORDER BY id")
            assert [column[0] for column in cursor.description] == ["name"]
            assert cursor.fetchmany() == [("a",), ("b",)]  # arraysize rows
            with pytest.raises(NotImplementedError):
                cursor.nextset()
            cursor.close()
            assert cursor.fetchall() == []  # closing drops the rows not read
            with adapter.cursor() as again:
                again.execute("SELECT count(*) FROM item")
                assert list(again) == [(3,)]

        await greenlet_spawn(use_the_cursor)


# ------------------------------------------------------------------ the reset ROLLBACK


async def test_a_connection_returned_after_a_commit_is_not_rolled_back(
    sqlite_db: Database,
) -> None:
    counter = TripCounter(await the_only_pooled_driver(sqlite_db, read=False))
    with counter.installed():
        async with sqlite_db.engine.connect() as connection:
            await connection.execute(ITEM.insert().values(name="d", qty=4))
            await connection.commit()
            trips_before_return = counter.trips
        assert counter.trips == trips_before_return  # no trip to return it
        assert counter.rollbacks == 0
    assert await names(sqlite_db) == ["a", "b", "c", "d"]


async def test_a_read_connection_is_returned_without_a_rollback(sqlite_db: Database) -> None:
    counter = TripCounter(await the_only_pooled_driver(sqlite_db, read=True))
    with counter.installed():
        for _ in range(3):
            async with sqlite_db.read_engine.connect() as connection:
                assert await connection.scalar(select(ITEM.c.qty).where(ITEM.c.name == "b")) == 2
        assert (counter.trips, counter.rollbacks) == (3, 0)  # the SELECTs, nothing more


async def test_a_connection_returned_inside_its_transaction_is_rolled_back(
    sqlite_db: Database,
) -> None:
    counter = TripCounter(await the_only_pooled_driver(sqlite_db, read=False))
    with counter.installed():
        async with sqlite_db.engine.connect() as connection:
            await connection.execute(ITEM.insert().values(name="uncommitted", qty=0))
            adapter = await adapter_of(connection)
        assert counter.rollbacks == 1
    assert not adapter._connection._connection.in_transaction
    assert await names(sqlite_db) == ["a", "b", "c"]
    await can_write_at_once(sqlite_db)


async def test_a_transaction_sqlalchemy_does_not_know_of_is_rolled_back_on_return(
    sqlite_db: Database,
) -> None:
    """A snapshot BEGIN on the read engine (as `begin_snapshot`) left open: the pool's reset."""
    counter = TripCounter(await the_only_pooled_driver(sqlite_db, read=True))
    with counter.installed():
        async with sqlite_db.read_engine.connect() as connection:
            await connection.exec_driver_sql("BEGIN")
            await connection.execute(select(ITEM.c.id))
            adapter = await adapter_of(connection)
            assert adapter._connection._connection.in_transaction
        assert counter.rollbacks == 1
    assert not adapter._connection._connection.in_transaction


async def test_a_write_transaction_left_open_behind_sqlalchemys_back_is_rolled_back(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.engine.connect() as connection:
        adapter = await adapter_of(connection)
        await greenlet_spawn(adapter.cursor().execute, "BEGIN IMMEDIATE")  # the write lock
        assert adapter._connection._connection.in_transaction
    assert not adapter._connection._connection.in_transaction
    await can_write_at_once(sqlite_db)


async def test_a_statement_still_on_its_way_keeps_the_rollback(sqlite_db: Database) -> None:
    counter = TripCounter(await the_only_pooled_driver(sqlite_db, read=True))
    with counter.installed():
        async with sqlite_db.read_engine.connect() as connection:
            await connection.execute(select(ITEM.c.id))
            adapter = await adapter_of(connection)
            adapter.trips.sent += 1  # as if one were in the thread's queue
            assert adapter.trips.pending
        assert counter.rollbacks == 1
        adapter.trips.sent -= 1
        async with sqlite_db.read_engine.connect() as connection:
            await connection.execute(select(ITEM.c.id))
        assert counter.rollbacks == 1


async def test_a_cancelled_statement_that_opens_a_transaction_is_rolled_back_after_it(
    sqlite_db: Database,
) -> None:
    """A BEGIN IMMEDIATE waiting for the write lock is cancelled, and its connection returned
    before the thread ran it. SQLite has no transaction yet, but the BEGIN will open one: the
    reset ROLLBACK must be queued behind it, or the pooled connection keeps the write lock."""
    holder = await sqlite_db.engine.connect()
    await holder.begin()  # BEGIN IMMEDIATE: the write lock
    waiter = await sqlite_db.engine.connect()  # SQLAlchemy begins nothing on it
    adapter = await adapter_of(waiter)
    with TripCounter(adapter._connection).installed() as counter:
        sent = adapter.trips.sent
        begin = asyncio.create_task(greenlet_spawn(adapter.cursor().execute, "BEGIN IMMEDIATE"))
        await asyncio.sleep(0)  # the task's first step sends the statement, then waits
        assert adapter.trips.sent == sent + 1
        begin.cancel()
        with pytest.raises(asyncio.CancelledError):
            await begin
        assert adapter.trips.pending  # still waiting for the lock, in the thread
        assert not adapter._connection._connection.in_transaction
        returning = asyncio.create_task(waiter.close())
        await asyncio.sleep(0.1)
        await holder.rollback()  # the lock goes: the cancelled BEGIN IMMEDIATE takes it
        await holder.close()
        await asyncio.wait_for(returning, NO_WAITING_SECONDS)
        assert counter.rollbacks == 1
    await settled(adapter)  # (at once, unless the rollback was skipped)
    assert not adapter._connection._connection.in_transaction
    await can_write_at_once(sqlite_db)


# ------------------------------------------------------------------ errors


async def test_a_unique_violation_is_an_integrity_error_and_the_connection_goes_on(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.engine.connect() as connection:
        adapter = await adapter_of(connection)
        with pytest.raises(IntegrityError) as caught:
            await connection.execute(ITEM.insert().values(name="a", qty=9))
        assert isinstance(caught.value.orig, sqlite3.IntegrityError)
        assert "UNIQUE" in str(caught.value.orig)
        assert not adapter.trips.pending  # an error counts as finished too
        await connection.rollback()
        await connection.execute(ITEM.insert().values(name="d", qty=4))
        await connection.commit()
    assert await names(sqlite_db) == ["a", "b", "c", "d"]


async def test_bad_sql_is_an_operational_error_and_the_connection_goes_on(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.read_engine.connect() as connection:
        adapter = await adapter_of(connection)
        with pytest.raises(OperationalError):
            await connection.exec_driver_sql("SELEKT 1")
        with pytest.raises(OperationalError):
            await connection.exec_driver_sql("SELECT * FROM no_such_table")
        assert not adapter.trips.pending
        assert await connection.scalar(text("SELECT count(*) FROM item")) == 3


async def test_a_write_on_the_read_engine_is_refused(sqlite_db: Database) -> None:
    async with sqlite_db.read_engine.connect() as connection:
        with pytest.raises(OperationalError, match="readonly"):
            await connection.execute(ITEM.insert().values(name="d", qty=4))
        with pytest.raises(OperationalError, match="readonly"):
            await connection.execute(
                text("INSERT INTO item (name, qty) VALUES (:name, :qty)"),
                [{"name": "d", "qty": 4}, {"name": "e", "qty": 5}],
            )
        assert await connection.scalar(text("SELECT count(*) FROM item")) == 3
    assert await names(sqlite_db) == ["a", "b", "c"]


# ------------------------------------------------------------------ streaming


async def test_streaming_uses_a_server_side_cursor_and_gives_every_row(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.engine.begin() as connection:
        await connection.execute(
            ITEM.insert(), [{"name": f"n{index:03}", "qty": index} for index in range(200)]
        )
    async with sqlite_db.read_engine.connect() as connection:
        result = await connection.stream(select(ITEM.c.name, ITEM.c.qty).order_by(ITEM.c.id))
        assert isinstance(result._real_result.cursor, AsyncAdapt_aiosqlite_ss_cursor)  # type: ignore[attr-defined]
        assert list(result.keys()) == ["name", "qty"]
        partitions = [partition async for partition in result.partitions(50)]
        assert [len(partition) for partition in partitions] == [50, 50, 50, 50, 3]
        assert partitions[0][:3] == [("a", 1), ("b", 2), ("c", 3)]
        assert partitions[-1][-1] == ("n199", 199)
        # The connection goes on with one-trip statements after (and during) a stream.
        streamed = await connection.stream_scalars(select(ITEM.c.qty).order_by(ITEM.c.id))
        total = 0
        async for qty in streamed:
            total += qty
            if qty == 1:
                assert await connection.scalar(text("SELECT count(*) FROM item")) == 203
        assert total == 6 + sum(range(200))


# ------------------------------------------------------------------ after dispose


async def test_a_statement_on_a_disposed_connection_raises_at_once(sqlite_db: Database) -> None:
    async with sqlite_db.read_engine.connect() as connection:
        adapter = await adapter_of(connection)
    await sqlite_db.dispose()
    assert adapter._connection._connection is None
    sent = adapter.trips.sent
    with pytest.raises(sqlite3.OperationalError, match="Connection closed"):
        await asyncio.wait_for(greenlet_spawn(adapter.cursor().execute, "SELECT 1"), 2)
    with pytest.raises(sqlite3.OperationalError, match="Connection closed"):
        await asyncio.wait_for(greenlet_spawn(adapter.cursor().executemany, "SELECT 1", [()]), 2)
    assert adapter.trips.sent == sent  # refused before it was sent
    await greenlet_spawn(adapter.rollback)  # nothing to roll back on a closed connection
