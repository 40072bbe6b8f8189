"""INSERT ... ON CONFLICT DO NOTHING, which both databases speak, each with its own construct."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_if_absent(
    connection: AsyncConnection, table: Table, values: dict[str, Any]
) -> bool:
    """Insert the row unless its key is taken; True if it was inserted.

    Unlike catching an IntegrityError, this needs no savepoint and leaves the transaction usable.
    On PostgreSQL a concurrent transaction inserting the same key makes this wait until it ends.
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(values).on_conflict_do_nothing()
    result = await connection.execute(statement)
    return result.rowcount == 1
