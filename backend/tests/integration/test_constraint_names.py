"""violated_constraint() tells which named constraint a real IntegrityError broke, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.infrastructure.database.errors import violated_constraint
from app.infrastructure.models.user import UserModel

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def user_row(**overrides: Any) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "email": "ada@example.com",
        "full_name": None,
        "role": "user",
        "is_active": True,
        "password_hash": "not-a-real-hash",
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        **overrides,
    }


async def integrity_error_of(connection: AsyncConnection, row: dict[str, Any]) -> IntegrityError:
    with pytest.raises(IntegrityError) as raised:
        async with connection.begin_nested():
            await connection.execute(insert(UserModel).values(row))
    return raised.value


async def test_a_duplicate_email_names_uq_users_email(connection: AsyncConnection) -> None:
    await connection.execute(insert(UserModel).values(user_row()))

    error = await integrity_error_of(connection, user_row())

    assert violated_constraint(error) == "uq_users_email"


async def test_a_duplicate_primary_key_is_not_taken_for_uq_users_email(
    connection: AsyncConnection, backend: str
) -> None:
    row = user_row()
    await connection.execute(insert(UserModel).values(row))

    error = await integrity_error_of(connection, {**row, "email": "grace@example.com"})

    # PostgreSQL names the primary key; SQLite reports only "users.id", which maps to no name.
    assert violated_constraint(error) == {"postgresql": "pk_users", "sqlite": None}[backend]


async def test_database_errors_never_carry_the_bound_values(connection: AsyncConnection) -> None:
    """An unexpected violation gets logged with its exception: it must not hold an e-mail or hash."""
    row = user_row()
    await connection.execute(insert(UserModel).values(row))
    error = await integrity_error_of(connection, {**row, "email": "grace@example.com"})
    assert "grace@example.com" not in str(error)
    assert str(row["password_hash"]) not in str(error)
