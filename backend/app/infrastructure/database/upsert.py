"""INSERT ... ON CONFLICT DO NOTHING, which both databases speak, each with its own construct."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_if_absent(
    connection: AsyncConnection, table: Table, values: dict[str, Any]
) -> bool:
    """Insert the row unless its key is taken; True if it was inserted.

    Unlike catching an IntegrityError, this needs no savepoint and leaves the transaction usable.
    On PostgreSQL a concurrent transaction inserting the same key makes this wait until it ends.
    """
    result = await connection.execute(_statement(connection.dialect.name, table), values)
    return result.rowcount == 1


@cache
def _statement(dialect_name: str, table: Table) -> Insert:
    # Built once per table and dialect, as the repositories build theirs at import.
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
