"""SQLite through aiosqlite with one trip to the connection's thread per statement.

aiosqlite runs each connection in a thread of its own; every call is a trip there and back (a
queue put, a thread wake-up, a callback into the event loop, and the GIL changing hands twice).
SQLAlchemy's adapter makes four trips per statement (make a cursor, execute, fetch the rows,
close the cursor) and a fifth when the pool resets a returned connection with ROLLBACK, even when
there is no transaction to roll back (after a commit, and always on the autocommit read engine).
A profile of an authenticated GET on SQLite put more than a third of the server's samples in those
trips, for two primary-key reads. This adapter does a statement's four steps in one trip, and
skips the ROLLBACK when SQLite says no transaction is open and no statement of ours is still on
its way to the thread (one cancelled mid-flight may be about to open one).

Everything else is SQLAlchemy's `aiosqlite` dialect as it is: the engine takes this module as its
DBAPI (`create_async_engine(url, module=one_trip_aiosqlite())`).
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What one statement's trip brings back: description, rows, rowcount, lastrowid.
_Outcome = tuple[Any, list[Any], int, int | None]


class _Trips:
    """Statements sent to a connection's thread and statements finished there. Each count is
    written by one thread only (sent: the event loop; finished: the connection's thread), so their
    difference is safe to read from the loop without a lock."""

    __slots__ = ("finished", "sent")

    def __init__(self) -> None:
        self.sent = 0
        self.finished = 0

    @property
    def pending(self) -> bool:
        return self.sent != self.finished


def _execute(
    connection: sqlite3.Connection, trips: _Trips, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """Runs in the connection's thread: the whole statement (or `executemany` of it), its rows
    read and its cursor closed."""
    try:
        cursor = connection.cursor()
        try:
            if many:
                cursor.executemany(operation, parameters)
            else:
                cursor.execute(operation, () if parameters is None else parameters)
            description = cursor.description
            rows = cursor.fetchall() if description else []
            return description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()
    finally:
        trips.finished += 1


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement, rows and close take one trip; the rows are then served from
    memory (as SQLAlchemy's adapter does after its own fetchall)."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No sqlite3 cursor is made here: `_execute` makes, uses and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]  # DBAPI: None before any insert

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # the sqlite3 cursor is closed already; the rows stay for the result

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # sqlite3's own is a no-op

    def nextset(self) -> None:
        raise NotImplementedError("SQLite statements have one result set")

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            outcome = await self._trip(operation, parameters, many=False)
        self._take(outcome)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            outcome = await self._trip(operation, seq_of_parameters, many=True)
        self._take(outcome)
        return None

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> _Outcome:
        connection = cast(aiosqlite.Connection, self._connection)
        if connection._connection is None or not connection._running:
            raise ValueError("Connection closed")  # aiosqlite's own refusal, before queueing
        trips: _Trips = self._adapt_connection.trips  # type: ignore[attr-defined]
        trips.sent += 1  # from here on, the thread counts it finished, whatever happens
        outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]
            _execute, connection._connection, trips, operation, parameters, many
        )
        return outcome

    def _take(self, outcome: _Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("trips",)

    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # (a subclass; mypy wants the same)

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, cast(AsyncIODBAPIConnection, connection))
        self.trips = _Trips()

    def rollback(self) -> None:
        raw = self._connection._connection
        if raw is not None and not raw.in_transaction and not self.trips.pending:
            return  # nothing to roll back, and nothing on its way that could open a transaction
        super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect is given: its connections are the above."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's: never keep the process alive
        return OneTripConnection(self, await_(connection))


def one_trip_aiosqlite() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
