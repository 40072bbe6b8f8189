from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy.exc import TimeoutError as SqlAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.infrastructure.database.engine import begin_snapshot, end_snapshot

# Opens one repository on the unit of work's connection.
RepositoryFactory = Callable[[AsyncConnection], object]


class SqlAlchemyUnitOfWork:
    """One transaction on one pooled connection, from `async with` to its end.

    The connection is taken when the block starts and handed back when it ends, rolled back unless
    `commit()` was called: a request holds a connection only while a use case is inside a unit of
    work, never while it hashes a password or the response is written. Give it the write engine
    for use cases that write, the read engine (read-only connections) for those that only read,
    and `snapshot=True` with the read engine for reads that must agree with each other.

    It exposes the repositories it is given, by name (`uow.products`), and no others: the
    composition root gives each use case those its unit-of-work Protocol names.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        repositories: Mapping[str, RepositoryFactory],
        *,
        snapshot: bool = False,
        write_gate: asyncio.Lock | None = None,
        gate_timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._factories = dict(repositories)
        self._snapshot = snapshot
        self._connection: AsyncConnection | None = None
        self._repositories: dict[str, object] = {}
        # SQLite's write engine: one writing unit of work of this process at a time (see Database).
        self._write_gate = write_gate
        self._gate_timeout = gate_timeout
        self._holds_gate = False

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; units of work do not nest")
        if self._write_gate is not None:
            try:
                await asyncio.wait_for(self._write_gate.acquire(), self._gate_timeout)
            except TimeoutError as exc:
                raise SqlAlchemyTimeoutError("waited too long for the database write lock") from exc
            self._holds_gate = True
        try:
            self._connection = await self._engine.connect()
            if self._snapshot:
                await begin_snapshot(self._connection)
        except BaseException:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
            self._release_gate()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        self._repositories = {}
        if connection is None:
            return
        try:
            if self._snapshot:
                await end_snapshot(connection)
        finally:
            try:
                # Closing rolls back whatever was not committed (nothing, after a commit): one
                # call into the driver's world instead of a rollback and then a close.
                await connection.close()
            finally:
                self._release_gate()

    def _release_gate(self) -> None:
        if self._holds_gate and self._write_gate is not None:
            self._holds_gate = False
            self._write_gate.release()

    async def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit() outside `async with` of the unit of work")
        await self._connection.commit()

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not attributes: the repositories, by name, each opened
        # on the connection the first time the block asks for it (most use only one or two).
        repositories = self.__dict__.get("_repositories", {})
        if name in repositories:
            return repositories[name]
        factories = self.__dict__.get("_factories", {})
        if name in factories:
            connection = self.__dict__.get("_connection")
            if connection is None:
                raise RuntimeError(f"uow.{name} outside `async with` of the unit of work")
            repository = repositories[name] = factories[name](connection)
            return repository
        raise AttributeError(
            f"this unit of work has no repository {name!r}: add it to the unit-of-work Protocol "
            "of the use case's feature"
        )
