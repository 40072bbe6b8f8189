"""The engine and session factories, built once at start-up (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Execution option set on the engine behind write sessions; see `_begin_sqlite_transaction`.
_WRITE_OPTION = "strata_may_write"
SQLITE_BUSY_TIMEOUT_MS = 15_000


@dataclass(frozen=True, slots=True)
class SessionFactories:
    """`read` for requests that only read; `write` for those that may write."""

    read: async_sessionmaker[AsyncSession]
    write: async_sessionmaker[AsyncSession]


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        options |= {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
        }
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self.session_factories = SessionFactories(
            read=async_sessionmaker(self.engine, expire_on_commit=False),
            write=async_sessionmaker(write_engine, expire_on_commit=False),
        )

    def pool_in_use(self) -> int:
        """Connections checked out of the pool right now."""
        checked_out = getattr(self.engine.pool, "checkedout", None)
        return int(checked_out()) if callable(checked_out) else 0

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL (readers never block the writer), a busy timeout, foreign keys, explicit BEGINs."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands, so `_begin_sqlite_transaction` decides its kind.
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds ASCII only; name searches must match "CAFÉ" to "Café".
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_sqlite_transaction(connection: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer committed in between; BEGIN IMMEDIATE takes the write lock
        # up front, so concurrent writers wait for each other (up to the busy timeout) instead.
        may_write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if may_write else "BEGIN")


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value
