"""SqlAlchemyUserRepository against real, migrated SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.user import EmailAlreadyRegisteredError, Role, User
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.user import SqlAlchemyUserRepository
from tests.builders import make_user
from tests.databases import fresh_database, sql_unit_of_work

NOW = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@pytest.fixture
def users(connection: AsyncConnection) -> SqlAlchemyUserRepository:
    return SqlAlchemyUserRepository(connection)


async def test_get_returns_every_field_as_it_was_added(users: SqlAlchemyUserRepository) -> None:
    user = make_user(role=Role.ADMIN, full_name="Ada Lovelace", now=NOW)
    await users.add(user)

    stored = await users.get(user.id)

    assert stored == user
    assert isinstance(stored.id, UUID)
    assert stored.role is Role.ADMIN
    assert stored.is_active is True
    assert stored.created_at.tzinfo is UTC
    assert stored.updated_at == NOW


async def test_a_user_without_a_full_name_keeps_none(users: SqlAlchemyUserRepository) -> None:
    user = make_user(full_name=None)
    await users.add(user)

    stored = await users.get(user.id)

    assert stored is not None
    assert stored.full_name is None


async def test_get_by_email_finds_the_user(users: SqlAlchemyUserRepository) -> None:
    user = make_user()
    await users.add(user)
    await users.add(make_user(email="grace@example.com"))

    assert await users.get_by_email("alice@example.com") == user
    assert await users.get_by_email("nobody@example.com") is None


async def test_get_returns_none_for_an_unknown_id(users: SqlAlchemyUserRepository) -> None:
    assert await users.get(make_user().id) is None


async def test_a_taken_email_raises_email_already_registered(
    users: SqlAlchemyUserRepository,
) -> None:
    await users.add(make_user())

    with pytest.raises(EmailAlreadyRegisteredError) as raised:
        await users.add(make_user(full_name="Ada's twin"))

    assert isinstance(raised.value.__cause__, IntegrityError)


async def test_the_session_stays_usable_after_a_taken_email(
    users: SqlAlchemyUserRepository,
) -> None:
    first = make_user()
    await users.add(first)
    with pytest.raises(EmailAlreadyRegisteredError):
        await users.add(make_user())

    # On PostgreSQL a failed statement outside a savepoint would abort the whole transaction.
    other = make_user(email="grace@example.com")
    await users.add(other)

    assert await users.get_by_email("alice@example.com") == first
    assert await users.get(other.id) == other


async def test_a_duplicate_id_is_not_mistaken_for_a_taken_email(
    users: SqlAlchemyUserRepository,
) -> None:
    user = make_user()
    await users.add(user)
    same_id = make_user(email="grace@example.com").model_copy(update={"id": user.id})

    with pytest.raises(IntegrityError):
        await users.add(same_id)

    assert await users.get(user.id) == user


async def _register_on_its_own_connection(
    database: Database, user: User, *, inserted: asyncio.Event, twin_started: asyncio.Event
) -> None:
    async with sql_unit_of_work(database.engine) as uow:
        await uow.users.add(user)
        inserted.set()
        # Keep the row uncommitted until the twin's insert is on its way to the database.
        await twin_started.wait()
        await asyncio.sleep(0.2)
        await uow.commit()


async def _register_twin(
    database: Database, user: User, *, inserted: asyncio.Event, twin_started: asyncio.Event
) -> None:
    await inserted.wait()
    async with sql_unit_of_work(database.engine) as uow:
        twin_started.set()
        await uow.users.add(user)
        await uow.commit()


async def test_two_concurrent_registrations_of_one_email_let_exactly_one_win(
    backend: str, tmp_path: Path
) -> None:
    async with fresh_database(backend, tmp_path) as url:
        database = Database(url)
        try:
            inserted, twin_started = asyncio.Event(), asyncio.Event()
            first, twin = make_user(), make_user(full_name="Ada's twin")
            outcomes = await asyncio.wait_for(
                asyncio.gather(
                    _register_on_its_own_connection(
                        database, first, inserted=inserted, twin_started=twin_started
                    ),
                    _register_twin(database, twin, inserted=inserted, twin_started=twin_started),
                    return_exceptions=True,
                ),
                timeout=10,
            )
            async with sql_unit_of_work(database.read_engine) as uow:
                stored = await uow.users.get_by_email("alice@example.com")
        finally:
            await database.dispose()

    assert outcomes[0] is None
    assert isinstance(outcomes[1], EmailAlreadyRegisteredError), repr(outcomes[1])
    assert stored == first
