"""The engines, built once at start-up (never at import).

Two engines share one database:

- the **write engine** (`engine`) runs every connection in a transaction (on SQLite `BEGIN IMMEDIATE`, so
  concurrent writers queue on the busy timeout instead of failing with "database is locked");
- the **read engine** (`read_engine`) has connections that the database itself keeps read-only, in autocommit: each
  statement reads one consistent snapshot, and a read saves the round trips of BEGIN and ROLLBACK.
  A use case whose several reads must agree with each other runs on the write engine.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.infrastructure.database.sqlite_driver import one_trip_aiosqlite
from app.infrastructure.database.sqlite_file import prepare_sqlite_file

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Each SQLite connection is a thread of aiosqlite's, and every statement's result crosses back to
# the event loop through the GIL. More threads than cores add no parallel reading, only threads
# queueing for the GIL: on two cores, an authenticated GET under 32 connections served ~25 % more
# requests with 2 connections per engine than with 10, at half the p99 (bench/README.md).
SQLITE_MAX_CONNECTIONS = max(2, os.cpu_count() or 2)
# Connections are replaced after this long, so none outlives a server-side idle timeout.
POOL_RECYCLE_SECONDS = 1_800


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 0,
        pool_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            prepare_sqlite_file(url)  # owner-only, before SQLite makes it (and its WAL) 644
            pool_size = min(pool_size, SQLITE_MAX_CONNECTIONS)
        pool = _pool_options(pool_size, max_overflow, pool_timeout)
        self.engine: AsyncEngine = create_async_engine(url, **pool, **self._driver_options())
        self.read_engine: AsyncEngine = create_async_engine(
            url,
            isolation_level="AUTOCOMMIT",
            **pool,
            **self._driver_options(read_only=True),
        )
        # SQLite has one writer at a time. Writers of this process queue here, in the event loop,
        # instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms between retries
        # and, under a burst of writes (logins creating sessions), wastes most of the time asleep.
        self.write_gate: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        self.write_gate_timeout = pool_timeout
        if self.is_sqlite:
            _configure_sqlite(self.engine, read_only=False)
            _configure_sqlite(self.read_engine, read_only=True)

    def _driver_options(self, *, read_only: bool = False) -> dict[str, Any]:
        if self.is_sqlite:
            return {
                "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                "module": one_trip_aiosqlite(),  # a statement per trip to the driver's thread
            }
        if read_only:
            # PostgreSQL refuses any write on these connections, whatever the code asks.
            settings = {"default_transaction_read_only": "on"}
            return {"connect_args": {"server_settings": settings}}
        return {}

    def pool_in_use(self) -> int:
        """Connections checked out of both pools right now."""
        return sum(_checked_out(engine) for engine in (self.engine, self.read_engine))

    async def ping(self) -> None:
        async with self.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        await self.engine.dispose()


def _pool_options(pool_size: int, max_overflow: int, pool_timeout: float) -> dict[str, Any]:
    """What both engines share: pool sizes and timeouts, and errors without bound values."""
    return {
        # Errors and logs never carry bound values (e-mails, password hashes) into the logs.
        "hide_parameters": True,
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_timeout": pool_timeout,
        "pool_recycle": POOL_RECYCLE_SECONDS,
    }


def _checked_out(engine: AsyncEngine) -> int:
    checked_out = getattr(engine.pool, "checkedout", None)
    return int(checked_out()) if callable(checked_out) else 0


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
    """WAL (readers never block the writer), a busy timeout, foreign keys, explicit BEGINs."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands, so `_begin_write_transaction` decides its kind.
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds ASCII only; name searches must match "CAFÉ" to "Café".
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA query_only={'ON' if read_only else 'OFF'}",
        ):
            cursor.execute(pragma)
        cursor.close()

    if read_only:
        return  # autocommit: no BEGIN at all

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_write_transaction(connection: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer committed in between; BEGIN IMMEDIATE takes the write lock
        # up front, so concurrent writers wait for each other (up to the busy timeout) instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


async def begin_snapshot(connection: AsyncConnection) -> None:
    """Turn a read engine's connection (autocommit) into one read-only transaction whose reads
    all see the same snapshot of the database, until the connection is rolled back.

    PostgreSQL: REPEATABLE READ (the connection stays read-only by its server setting). SQLite in
    WAL mode: a deferred BEGIN, whose first read fixes the snapshot the later ones see.
    """
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN")
    else:
        await connection.execution_options(isolation_level="REPEATABLE READ")
        await connection.begin()


async def end_snapshot(connection: AsyncConnection) -> None:
    """End what `begin_snapshot` began (on SQLite SQLAlchemy does not know of that BEGIN)."""
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("ROLLBACK")
